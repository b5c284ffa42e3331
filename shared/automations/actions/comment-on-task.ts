import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import { TemplateError } from '../errors.ts';
import type { commentOnTaskSchema } from '../rule-schema.ts';
import { renderTemplate } from '../template.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

export function prepareCommentOnTask(
  action: z.infer<typeof commentOnTaskSchema>,
  env: ActionEnv,
): PreparedAction {
  const taskId = renderTemplate(action.task ?? '{{task.id}}', env.context).trim();
  if (taskId === '') throw new TemplateError('task', 'comment_on_task: the task id is empty');
  const content = renderTemplate(action.content, env.context).trim();
  if (content === '') throw new TemplateError('content', 'comment_on_task: the comment is empty');
  const onDoubt = action.onDoubt ?? 'skip';
  return {
    async run(inDoubt): Promise<JsonObject> {
      // Tallyfy offers no lookup of a task's comments by content: an attempt in doubt may have
      // posted it, and posting again could show it twice
      if (inDoubt && onDoubt === 'skip') return { skipped: 'in_doubt', taskId };
      const comment = await env.tallyfy(env.orgId).commentOnTask(env.orgId, taskId, content);
      return { commentId: comment.id, taskId };
    },
  };
}
