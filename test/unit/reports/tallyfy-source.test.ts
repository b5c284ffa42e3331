import { describe, expect, test } from 'vitest';
import { type TallyfyLists, tallyfyReportSource } from '../../../shared/reports/index.ts';

/** Answers list requests from fixed pages and records what was asked. */
function lists(pagesByPath: Record<string, unknown[][]>) {
  const asked: { path: string; perPage: number }[] = [];
  const port: TallyfyLists = {
    async *pages(path, { perPage }) {
      asked.push({ path, perPage });
      for (const data of pagesByPath[path] ?? []) yield { data, calls: 2 };
    },
  };
  return { port, asked };
}

describe('Tallyfy report source', () => {
  test('reads runs and the org-wide task list 100 a page, keeping each page’s call count', async () => {
    const { port, asked } = lists({
      '/organizations/o1/runs': [
        [{ id: 'r1', checklist_id: 'c1', status: 'active', created_at: '2026-11-20T10:00:00Z' }],
      ],
      '/organizations/o1/tasks': [
        [{ id: 't1', run_id: 'r1', status: 'not-started', owners: { users: ['u1'] } }],
        [{ id: 't2', run_id: 'r1', status: 'completed', completed_at: '2026-11-21T10:00:00Z' }],
      ],
    });
    const source = tallyfyReportSource(() => port, { parseDate: Date.parse });
    const processPages = [];
    for await (const page of source.processes('o1')) processPages.push(page);
    const taskPages = [];
    for await (const page of source.tasks('o1', {})) taskPages.push(page);
    expect(asked).toEqual([
      { path: '/organizations/o1/runs', perPage: 100 },
      { path: '/organizations/o1/tasks', perPage: 100 },
    ]);
    expect(processPages).toEqual([
      {
        items: [
          {
            id: 'r1',
            templateId: 'c1',
            templateTitle: null,
            launchedAtMs: Date.parse('2026-11-20T10:00:00Z'),
            completedAtMs: null,
            open: true,
          },
        ],
        calls: 2,
      },
    ]);
    expect(taskPages.map((p) => p.items.map((t) => [t.id, t.open]))).toEqual([
      [['t1', true]],
      [['t2', false]],
    ]);
  });

  test('an item that does not fit the schema fails the fetch instead of being skipped', async () => {
    const { port } = lists({ '/organizations/o1/runs': [[{ id: 'r1', status: 'active' }]] });
    const source = tallyfyReportSource(() => port, { parseDate: Date.parse });
    const drain = async () => {
      for await (const _ of source.processes('o1')) {
        // draining
      }
    };
    await expect(drain()).rejects.toThrow(/created_at/);
  });
});
