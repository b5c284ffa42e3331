import { json, notFound, type Reply } from './context.ts';
import { SandboxError } from './errors.ts';
import type { DemoIds, SandboxStats } from './types.ts';

export interface AdminPorts {
  completeTask(orgId: string, taskId: string, userId?: string): Promise<void>;
  taskView(taskId: string): unknown;
  stats(): SandboxStats;
  demo: DemoIds;
}

/**
 * Unauthenticated admin routes under `/_sandbox/` (local mode and one-line commands):
 * `POST /_sandbox/orgs/{org}/tasks/{task}/complete` (optional JSON `{"user_id": "…"}`),
 * `GET /_sandbox/stats`, `GET /_sandbox/demo`.
 */
export async function handleAdmin(
  method: string,
  path: string,
  body: unknown,
  ports: AdminPorts,
): Promise<Reply> {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (method === 'GET' && parts.length === 2 && parts[1] === 'stats')
    return json(200, ports.stats());
  if (method === 'GET' && parts.length === 2 && parts[1] === 'demo') return json(200, ports.demo);
  if (
    method === 'POST' &&
    parts.length === 6 &&
    parts[1] === 'orgs' &&
    parts[3] === 'tasks' &&
    parts[5] === 'complete'
  ) {
    const orgId = parts[2] as string;
    const taskId = parts[4] as string;
    const userId =
      body && typeof body === 'object' && 'user_id' in body && typeof body.user_id === 'string'
        ? body.user_id
        : undefined;
    try {
      await ports.completeTask(orgId, taskId, userId);
    } catch (error) {
      if (error instanceof SandboxError) {
        return json(error.code === 'SANDBOX_NOT_FOUND' ? 404 : 422, { message: error.message });
      }
      throw error;
    }
    return json(200, { data: ports.taskView(taskId) });
  }
  return notFound();
}
