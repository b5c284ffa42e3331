import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import { TemplateError } from '../errors.ts';
import type { commentOnTaskSchema } from '../rule-schema.ts';
import { renderTemplate } from '../template.ts';
import { markerTag } from './marker.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

export function prepareCommentOnTask(
  action: z.infer<typeof commentOnTaskSchema>,
  env: ActionEnv,
): PreparedAction {
  const taskId = renderTemplate(action.task ?? '{{task.id}}', env.context).trim();
  if (taskId === '') throw new TemplateError('task', 'comment_on_task: the task id is empty');
  const content = renderTemplate(action.content, env.context).trim();
  if (content === '') throw new TemplateError('content', 'comment_on_task: the comment is empty');
  // the marker ends the comment, so an attempt in doubt finds its own comment among the task's
  const text = `${content}\n\n${markerTag(env.marker)}`;
  return {
    // one read: the task with its comments (`with=threads`); Tallyfy may keep the text as HTML,
    // so only the marker itself is looked for
    async findEffect() {
      const comments = await env.tallyfy(env.orgId).listTaskComments(env.orgId, taskId);
      const mine = comments.find(
        (c) => typeof c.content === 'string' && c.content.includes(env.marker),
      );
      return mine === undefined
        ? { found: false }
        : { found: true, result: { commentId: mine.id, taskId } };
    },
    async perform(): Promise<JsonObject> {
      const comment = await env.tallyfy(env.orgId).commentOnTask(env.orgId, taskId, text);
      return { commentId: comment.id, taskId };
    },
  };
}
