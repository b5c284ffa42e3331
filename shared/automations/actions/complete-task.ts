import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import { TallyfyValidationError } from '../../tallyfy/index.ts';
import { TemplateError } from '../errors.ts';
import type { completeTaskSchema } from '../rule-schema.ts';
import { renderTemplate } from '../template.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

export function prepareCompleteTask(
  action: z.infer<typeof completeTaskSchema>,
  env: ActionEnv,
): PreparedAction {
  const taskId = renderTemplate(action.task, env.context).trim();
  const runId = renderTemplate(action.process ?? '{{process.id}}', env.context).trim();
  if (taskId === '') throw new TemplateError('task', 'complete_task: the task id is empty');
  if (runId === '') throw new TemplateError('process', 'complete_task: the process id is empty');
  return {
    // completing is naturally idempotent: a completed task stays completed, so an attempt in
    // doubt (or a 422 "already completed") is settled by reading the task
    async run(inDoubt): Promise<JsonObject> {
      const api = env.tallyfy(env.orgId);
      if (inDoubt) {
        const task = await api.getTask(env.orgId, taskId, runId);
        if (task.status === 'completed') return { taskId, runId, alreadyCompleted: true };
      }
      try {
        await api.completeTask(env.orgId, runId, taskId);
        return { taskId, runId };
      } catch (error) {
        if (!(error instanceof TallyfyValidationError)) throw error;
        const task = await api.getTask(env.orgId, taskId, runId);
        if (task.status === 'completed') return { taskId, runId, alreadyCompleted: true };
        throw error;
      }
    },
  };
}
