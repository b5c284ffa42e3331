import type { Action } from '../rule-schema.ts';
import { prepareCommentOnTask } from './comment-on-task.ts';
import { prepareCompleteTask } from './complete-task.ts';
import { prepareHttpPost } from './http-post.ts';
import { prepareLaunchProcess } from './launch-process.ts';
import { markerNameSuffix, markerTag } from './marker.ts';
import { preparePublish } from './publish.ts';
import type { ActionEnv, PreparedAction } from './types.ts';

export type { ActionEnv, EffectLookup, PreparedAction } from './types.ts';
export { markerNameSuffix, markerTag };

/**
 * Renders an action's templates (throws TemplateError before anything is recorded or sent)
 * and returns it ready to run.
 */
export function prepareAction(action: Action, env: ActionEnv): PreparedAction {
  switch (action.type) {
    case 'launch_process':
      return prepareLaunchProcess(action, env);
    case 'comment_on_task':
      return prepareCommentOnTask(action, env);
    case 'complete_task':
      return prepareCompleteTask(action, env);
    case 'http_post':
      return prepareHttpPost(action, env);
    case 'publish':
      return preparePublish(action, env);
  }
}
