import { describe, expect, test } from 'vitest';
import {
  TallyfyRunSchema,
  TallyfyTaskSchema,
  toReportProcess,
  toReportTask,
} from '../../../shared/reports/index.ts';

const iso = (text: string) => {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new RangeError(`not a date: ${text}`);
  return ms;
};

describe('Tallyfy run → report process', () => {
  test('a completed run has its template, launch and completion instants and is not open', () => {
    const run = TallyfyRunSchema.parse({
      id: 'r1',
      checklist_id: 'c1',
      checklist_title: 'Purchase order',
      status: 'completed',
      created_at: '2026-11-18T07:00:00Z',
      started_at: '2026-11-18T08:00:00Z',
      completed_at: '2026-11-21T15:10:00Z',
      prerun: { vendor: 'Northwind' },
    });
    expect(toReportProcess(run, iso)).toEqual({
      id: 'r1',
      templateId: 'c1',
      templateTitle: 'Purchase order',
      launchedAtMs: Date.parse('2026-11-18T08:00:00Z'),
      completedAtMs: Date.parse('2026-11-21T15:10:00Z'),
      open: false,
    });
  });

  test('a run not yet started counts from its creation; archived runs are not open', () => {
    const base = { id: 'r2', status: 'active', created_at: '2026-11-18T07:00:00Z' };
    expect(toReportProcess(TallyfyRunSchema.parse(base), iso)).toMatchObject({
      templateId: null,
      launchedAtMs: Date.parse('2026-11-18T07:00:00Z'),
      open: true,
    });
    const archived = TallyfyRunSchema.parse({ ...base, status: 'archived' });
    expect(toReportProcess(archived, iso).open).toBe(false);
  });

  test('dates go through the parser it is given (both Tallyfy formats are the parser’s job)', () => {
    const seen: string[] = [];
    const parser = (text: string) => {
      seen.push(text);
      return 42;
    };
    const run = TallyfyRunSchema.parse({
      id: 'r3',
      status: 'active',
      created_at: '15/10/2025 09:00 AM UTC',
    });
    expect(toReportProcess(run, parser).launchedAtMs).toBe(42);
    expect(seen).toEqual(['15/10/2025 09:00 AM UTC']);
  });
});

describe('Tallyfy task → report task', () => {
  test('owners may be ids or user objects; numeric ids become strings', () => {
    const asObjects = TallyfyTaskSchema.parse({
      id: 't1',
      run_id: 'r1',
      status: 'not-started',
      deadline: '2026-11-20T17:00:00Z',
      owners: { users: [{ id: 'u01', email: 'a@example.com' }], guests: [] },
    });
    const asIds = TallyfyTaskSchema.parse({
      id: 7,
      run_id: 9,
      status: 'in-progress',
      owners: { users: [12, 'u2'] },
    });
    expect(toReportTask(asObjects, iso)).toEqual({
      id: 't1',
      processId: 'r1',
      open: true,
      deadlineMs: Date.parse('2026-11-20T17:00:00Z'),
      completedAtMs: null,
      assigneeIds: ['u01'],
    });
    expect(toReportTask(asIds, iso)).toMatchObject({
      id: '7',
      processId: '9',
      assigneeIds: ['12', 'u2'],
    });
  });

  test('completed and skipped tasks are not open; one-off tasks have no process', () => {
    const done = TallyfyTaskSchema.parse({
      id: 't2',
      status: 'completed',
      completed_at: '2026-11-19T10:42:13Z',
    });
    expect(toReportTask(done, iso)).toMatchObject({
      processId: null,
      open: false,
      completedAtMs: Date.parse('2026-11-19T10:42:13Z'),
      assigneeIds: [],
    });
    const skipped = TallyfyTaskSchema.parse({ id: 't3', status: 'auto-skipped' });
    expect(toReportTask(skipped, iso).open).toBe(false);
  });

  test('a task without an id or status is refused, not guessed', () => {
    expect(TallyfyTaskSchema.safeParse({ status: 'completed' }).success).toBe(false);
    expect(TallyfyTaskSchema.safeParse({ id: 't4' }).success).toBe(false);
  });
});
