/**
 * Issue 14's acceptance in a real browser: local mode runs (in this process: DynamoDB Local,
 * the local AWS engines, the Tallyfy sandbox with its demo org), headless Chromium opens the
 * console it serves at /console, and an operator's path is walked: the demo org is healthy; a
 * task completed in the sandbox shows up as an event; a rule made to fail dead-letters the next
 * event; replayed from the console (after the rule is fixed) it is processed; a report run from
 * the console shows its charts, and so does its report.html. No page logs an error or fails a
 * request. Screenshots of every page go to docs/console/ when UPDATE_SCREENSHOTS=1.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type LocalMode, startLocalMode } from '../../local/runtime/index.ts';
import type { ReportDocument } from '../../shared/reports/index.ts';
import { type Browser, launchChromium } from './support.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const SHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? join(REPO_ROOT, 'docs/console')
    : mkdtempSync(join(tmpdir(), 'console-shots-'));

interface DemoIds {
  templates: { purchaseOrder: { id: string }; onboarding: { id: string } };
  tasks: { approvePo: string; issuePo: string };
}

let local: LocalMode;
let browser: Browser;
let page: Page;
let dataDir: string;
let demo: DemoIds;
let orgId: string;

/**
 * `tallyfy-serverless …` as an operator runs it: a child process against this local mode (not
 * in-process: the CLI closes the shared HTTP pools when it ends, local mode's among them).
 */
function cli(
  argv: readonly string[],
  stdin = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/tallyfy-serverless.ts', '--data-dir', dataDir, ...argv],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function completeTask(taskId: string): Promise<void> {
  const answer = await fetch(
    `${local.urls.sandbox}/_sandbox/orgs/${orgId}/tasks/${taskId}/complete`,
    {
      method: 'POST',
    },
  );
  expect(answer.status).toBe(200);
  await local.drainQueue();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The points a chart says it has, and the point elements actually drawn in it. */
async function chartPoints(id: string): Promise<{ said: number; drawn: number }> {
  const chart = page.locator(`figure[data-chart="${id}"]`);
  return {
    said: Number(await chart.getAttribute('data-points')),
    drawn: await chart.locator('[data-point]').count(),
  };
}

beforeAll(async () => {
  // screenshots show the target's label: a data directory in the checkout reads `.data/…`
  dataDir =
    process.env.UPDATE_SCREENSHOTS === '1'
      ? join(REPO_ROOT, '.data', 'console-screenshots')
      : join(mkdtempSync(join(tmpdir(), 'tallyfy-console-browser-')), 'data');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  local = await startLocalMode({ port: 0, dataDir, schedules: false, logSink: () => undefined });
  orgId = local.demo?.orgId as string;
  demo = (await (await fetch(`${local.urls.sandbox}/_sandbox/demo`)).json()) as DemoIds;
  browser = await launchChromium();
  page = await browser.page();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await local?.stop();
});

describe('operator console in Chromium against local mode', () => {
  test('the demo org is healthy; refresh now refreshes it', async () => {
    await page.goto(local.urls.console);
    expect(new URL(page.url()).pathname).toMatch(/\/console\/[^/]+\/orgs$/);
    const row = page.locator(`tr[data-org="${orgId}"]`);
    expect(await row.getAttribute('data-state')).toBe('healthy');
    const timeline = await chartPoints('token-expiries');
    expect(timeline).toEqual({ said: 1, drawn: 1 });
    await shot('orgs');

    await row.locator('button[data-action="refresh"]').click();
    await page.waitForURL(/\/orgs\?notice=/);
    expect(await page.locator('.notice.ok').textContent()).toMatch(
      /token (refreshed|still fresh|stored)/,
    );
    expect(await page.locator(`tr[data-org="${orgId}"]`).getAttribute('data-state')).toBe(
      'healthy',
    );
  });

  test('a task completed in the sandbox appears as a processed event with its rule outcome', async () => {
    await completeTask(demo.tasks.approvePo);
    await page.goto(`${local.urls.console}events`);
    const row = page.locator(`tr[data-event^="task.completed:${demo.tasks.approvePo}:"]`);
    expect(await row.getAttribute('data-status')).toBe('done');
    expect(await row.locator('[data-rule="demo-po-approved"]').textContent()).toMatch(/2 done/);
    // the launch made Tallyfy send process.launched: it took the same path
    expect(
      await page.locator('tr[data-event^="process.launched:"]').count(),
    ).toBeGreaterThanOrEqual(1);
    const hourly = await chartPoints('flow-hourly');
    expect(hourly.drawn).toBe(hourly.said);
    expect(hourly.said).toBeGreaterThan(0);
    const received = page.locator('figure[data-chart="flow-hourly"] g[data-series="received"]');
    expect(Number(await received.getAttribute('data-points'))).toBeGreaterThan(0);
    await shot('events');
  });

  test('a failing rule dead-letters the next event; replayed after the fix, it is processed', async () => {
    const failing = {
      description:
        'Console test: launch a follow-up when the PO is issued (wrong template at first)',
      when: {
        event: 'task.completed',
        template: { id: demo.templates.purchaseOrder.id },
        step: { alias: 'issue-po' },
      },
      // biome-ignore lint/suspicious/noThenProperty: `then` is the rules format's action list
      then: [
        { type: 'launch_process', template: 'tpl0000000missing', name: 'Issued: {{process.name}}' },
      ],
    };
    const added = await cli(
      ['rules', 'add', orgId, '--id', 'po-issued', '--file', '-'],
      JSON.stringify(failing),
    );
    expect(added.code, added.stderr).toBe(0);
    await completeTask(demo.tasks.issuePo);

    await page.goto(`${local.urls.console}dead-letters?fresh=1`);
    const letter = page.locator('tr[data-letter]');
    expect(await letter.count()).toBe(1);
    expect(await letter.getAttribute('data-code')).toBe('TALLYFY_VALIDATION_FAILED');
    expect(await letter.textContent()).toContain('po-issued');
    await shot('dead-letters');

    await letter.locator('a', { hasText: 'envelope' }).click();
    expect(await page.locator('pre[data-envelope]').textContent()).toContain(
      `"task.completed:${demo.tasks.issuePo}:`,
    );
    await shot('dead-letter');

    // the fix: the rule now names the real template
    const fixed = {
      ...failing,
      // biome-ignore lint/suspicious/noThenProperty: `then` is the rules format's action list
      then: [{ ...failing.then[0], template: demo.templates.onboarding.id }],
    };
    expect(
      (
        await cli(
          ['rules', 'add', orgId, '--id', 'po-issued', '--file', '-'],
          JSON.stringify(fixed),
        )
      ).code,
    ).toBe(0);

    await page.locator('a[data-action="replay-one"]').click();
    expect(await page.locator('[data-confirm-count]').getAttribute('data-confirm-count')).toBe('1');
    expect(await page.locator('.confirm').textContent()).toMatch(/Replay 1 letter/);
    await shot('replay-confirm');
    await page.locator('button[data-action="confirm-replay"]').click();
    await page.waitForURL(/\/replays\/[0-9a-f-]{36}$/);
    // the job page reloads itself while the replay runs
    await page.locator('[data-replay-status="finished"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-replayed]').getAttribute('data-replayed')).toBe('1');
    await shot('replay');

    await local.drainQueue();
    await page.goto(`${local.urls.console}events${`?org=${orgId}&type=task.completed`}`);
    const issued = page.locator(`tr[data-event^="task.completed:${demo.tasks.issuePo}:"]`);
    expect(
      await issued.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))),
    ).toEqual(['done', 'failed']);
    expect(await issued.first().locator('[data-rule="po-issued"]').textContent()).toMatch(/1 done/);

    await page.goto(`${local.urls.console}dead-letters?fresh=1`);
    expect(await page.locator('tr[data-letter]').count()).toBe(0);
    const replay = page.locator('table[data-table="replays"] tr[data-replay]');
    expect(await replay.count()).toBe(1);
    expect(await replay.textContent()).toMatch(/console.*1.*1.*finished/s);
  });

  test('the rules page dry-runs a rule against a recent webhook', async () => {
    await page.goto(`${local.urls.console}rules?org=${orgId}`);
    expect(await page.locator('tr[data-rule]').count()).toBe(2);
    const recent = page.locator('select[name="event"]');
    expect(Number(await recent.getAttribute('data-recent-events'))).toBeGreaterThan(0);
    const approved = recent.locator('option', {
      hasText: `task.completed_${demo.tasks.approvePo}`,
    });
    await recent.selectOption({ value: (await approved.first().getAttribute('value')) as string });
    await page.locator('form[method="get"] select[name="rule"]').selectOption('demo-po-approved');
    await page.locator('button[data-action="dry-run"]').click();
    await page.locator('[data-dry-run]').waitFor();
    const result = page.locator('li[data-rule-result]');
    expect(await result.getAttribute('data-rule-result')).toBe('match');
    expect(await result.textContent()).toMatch(/launch_process.*Follow-up: /s);
    expect(await page.locator('text=Dry run: nothing was sent').count()).toBe(1);
    await shot('rules-dry-run');
  });

  test('a report run from the console shows its charts; report.html draws the same', async () => {
    await page.goto(`${local.urls.console}reports`);
    await page.locator(`tr[data-org="${orgId}"] button[data-action="run-report"]`).click();
    await page.waitForURL(new RegExp(`/reports/${orgId}\\?notice=`));
    expect(await page.locator('.notice.ok').textContent()).toMatch(/Report of .* written/);
    const doc = JSON.parse(
      readFileSync(join(dataDir, 'reports', orgId, 'latest', 'report.json'), 'utf8'),
    ) as ReportDocument;
    const days = doc.tables['processes-per-day']?.length ?? 0;
    expect(days).toBeGreaterThan(0);

    const expected: Record<string, number> = {
      'processes-per-day': 2 * days,
      'cycle-time-by-template': 2 * (doc.tables['cycle-time-by-template']?.length ?? 0),
      'overdue-by-template': doc.tables['overdue-by-template']?.length ?? 0,
      'overdue-by-assignee': doc.tables['overdue-by-assignee']?.length ?? 0,
      'event-flow': 3 * (doc.eventFlow?.buckets.filter((b) => b.received !== null).length ?? 0),
    };
    expect(expected['event-flow']).toBeGreaterThan(0);
    for (const [id, points] of Object.entries(expected)) {
      expect(await chartPoints(id), id).toEqual({ said: points, drawn: points });
    }
    await shot('report');

    await page.locator('a[data-file="report.html"]').click();
    await page.locator('main[data-report]').waitFor();
    for (const [id, points] of Object.entries(expected)) {
      expect(await chartPoints(id), `report.html ${id}`).toEqual({ said: points, drawn: points });
      // drawn, not just present: every chart has a size on the page
      const box = await page.locator(`figure[data-chart="${id}"] svg`).boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(100);
    }
    await shot('report-html');

    await page.goto(`${local.urls.console}reports`);
    expect(await page.locator(`tr[data-org="${orgId}"]`).textContent()).not.toContain(
      'no report yet',
    );
    await shot('reports');
  });

  test('the activity page lists the actions and the replay, and no page logged an error', async () => {
    await page.goto(`${local.urls.console}activity`);
    const actions = await page.locator('table[data-table="actions"]').textContent();
    expect(actions).toMatch(/refresh/);
    expect(actions).toMatch(/replay/);
    expect(actions).toMatch(/report/);
    await shot('activity');
    expect(browser.problems(), browser.problems().join('\n')).toEqual([]);
  });
});
