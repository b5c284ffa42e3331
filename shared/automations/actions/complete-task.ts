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
  const completed = async (): Promise<JsonObject | undefined> => {
    const task = await env.tallyfy(env.orgId).getTask(env.orgId, taskId, runId);
    return task.status === 'completed' ? { taskId, runId, alreadyCompleted: true } : undefined;
  };
  return {
    // completing is naturally idempotent: the task's status says whether it happened
    async findEffect() {
      const result = await completed();
      return result === undefined ? { found: false } : { found: true, result };
    },
    async perform(): Promise<JsonObject> {
      try {
        await env.tallyfy(env.orgId).completeTask(env.orgId, runId, taskId);
        return { taskId, runId };
      } catch (error) {
        // a 422 "already completed" (someone else did it) is read back, not a failure
        if (!(error instanceof TallyfyValidationError)) throw error;
        const result = await completed();
        if (result === undefined) throw error;
        return result;
      }
    },
  };
}
