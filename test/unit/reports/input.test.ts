import { describe, expect, test } from 'vitest';
import { ReportInputError } from '../../../shared/reports/errors.ts';
import { parseReportEvent } from '../../../shared/reports/input.ts';

const scheduled = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-23T06:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/reporter'],
  detail: {},
};

const nowMs = Date.parse('2026-11-23T09:30:00Z');
const defaults = { nowMs, periodDays: 7 };

describe('reporter event', () => {
  test('an EventBridge scheduled event starts a run for every org at the event time', () => {
    expect(parseReportEvent(scheduled, defaults)).toEqual({
      kind: 'scheduled',
      firedAtMs: Date.parse('2026-11-23T06:00:00Z'),
    });
  });

  test('an on-demand request takes dates or date-times with offsets', () => {
    expect(
      parseReportEvent(
        { orgId: 'org-1', since: '2026-11-01', until: '2026-11-08T12:00:00+02:00' },
        defaults,
      ),
    ).toEqual({
      kind: 'on-demand',
      orgId: 'org-1',
      period: {
        sinceMs: Date.parse('2026-11-01T00:00:00Z'),
        untilMs: Date.parse('2026-11-08T10:00:00Z'),
      },
    });
  });

  test('an on-demand request without since or until takes the scheduled period or runs until now', () => {
    expect(parseReportEvent({ orgId: 'o1' }, defaults)).toMatchObject({
      period: {
        sinceMs: Date.parse('2026-11-16T00:00:00Z'),
        untilMs: Date.parse('2026-11-23T00:00:00Z'),
      },
    });
    expect(parseReportEvent({ orgId: 'o1', since: '2026-11-20' }, defaults)).toMatchObject({
      period: { sinceMs: Date.parse('2026-11-20T00:00:00Z'), untilMs: nowMs },
    });
    expect(parseReportEvent({ orgId: 'o1', until: '2026-11-10' }, defaults)).toMatchObject({
      period: {
        sinceMs: Date.parse('2026-11-03T00:00:00Z'),
        untilMs: Date.parse('2026-11-10T00:00:00Z'),
      },
    });
  });

  test('a period that ends before it starts is refused with the field named', () => {
    const error = captured(() =>
      parseReportEvent({ orgId: 'o1', since: '2026-11-08', until: '2026-11-01' }, defaults),
    );
    expect(error).toBeInstanceOf(ReportInputError);
    expect(error).toMatchObject({ code: 'REPORTS_INPUT_INVALID' });
    expect((error as Error).message).toMatch(/until must be after since/);
  });

  test('a malformed date, an unsafe org id and unknown keys are each refused', () => {
    for (const bad of [
      { orgId: 'o1', since: '01/11/2026', until: '2026-11-08' },
      { orgId: '../o1', since: '2026-11-01', until: '2026-11-08' },
      { orgId: 'o1', since: '2026-11-01', until: '2026-11-08', bucket: 'x' },
      { orgId: 'o1', since: '2024-01-01', until: '2026-01-01' },
      'run please',
      null,
    ]) {
      expect(captured(() => parseReportEvent(bad, defaults))).toBeInstanceOf(ReportInputError);
    }
  });
});

function captured(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
