import type * as z from 'zod';
import type { JsonObject } from '../../orgs/index.ts';
import type { publishSchema } from '../rule-schema.ts';
import { renderValue } from '../template.ts';
import { defaultDocument, doubtPolicy } from './http-post.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

export function preparePublish(
  action: z.infer<typeof publishSchema>,
  env: ActionEnv,
): PreparedAction {
  const rendered =
    action.detail === undefined ? defaultDocument(env) : renderValue(action.detail, env.context);
  const detail: Record<string, unknown> = {
    ...(rendered !== null && typeof rendered === 'object' && !Array.isArray(rendered)
      ? (rendered as Record<string, unknown>)
      : { value: rendered }),
    // consumers dedupe by markerId: an attempt in doubt is published again
    automation: { markerId: env.marker, eventId: env.view.event.id, ruleId: env.ruleId },
  };
  return {
    // EventBridge is at-least-once anyway: consumers dedupe by `detail.automation.markerId`
    onDoubt: doubtPolicy(action.onDoubt),
    async perform(): Promise<JsonObject> {
      await env.publisher.publish({
        detailType: action.detailType,
        detail,
        time: env.view.event.time,
      });
      return { published: action.detailType };
    },
  };
}
