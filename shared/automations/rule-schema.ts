/**
 * The rules format (docs/automations.md): what a `RULE#` item's `body` holds. The registry
 * stores bodies opaquely; this schema is the engine's contract, used by the worker when it reads
 * rules and by the CLI before it writes one.
 */
import * as z from 'zod';
import { eventTypeSchema } from '../events/index.ts';
import { SIGNING_KEY_NAME_MAX_LENGTH } from '../secret-names.ts';
import { RuleInvalidError } from './errors.ts';

const scalar = z.lazy(() => z.union([z.string(), z.number(), z.boolean()]));

/** A form-field condition: a scalar (equality) or an operator object (all given must hold). */
export const fieldConditionSchema = z.lazy(() =>
  z.union([
    scalar,
    z
      .strictObject({
        equals: scalar.optional(),
        notEquals: scalar.optional(),
        in: z.array(scalar).min(1).optional(),
        contains: z.string().min(1).optional(),
        exists: z.boolean().optional(),
        gt: z.number().optional(),
        gte: z.number().optional(),
        lt: z.number().optional(),
        lte: z.number().optional(),
      })
      .refine((c) => Object.keys(c).length > 0, 'a condition needs at least one operator'),
  ]),
);
export type FieldCondition = z.infer<typeof fieldConditionSchema>;

/** When a rule applies. Every given part must hold; text comparisons ignore case. */
export const whenSchema = z.lazy(() =>
  z.strictObject({
    /** One event type or a list (`task.completed`, `process.launched`…). */
    event: z.union([eventTypeSchema, z.array(eventTypeSchema).min(1)]),
    /** The template (checklist) by id and/or name (title). */
    template: z
      .strictObject({ id: z.string().min(1).optional(), name: z.string().min(1).optional() })
      .optional(),
    /** The step (task) by alias and/or title. */
    step: z
      .strictObject({ alias: z.string().min(1).optional(), title: z.string().min(1).optional() })
      .optional(),
    /** Form values by field alias. */
    fields: z.record(z.string().min(1), fieldConditionSchema).optional(),
  }),
);
export type When = z.infer<typeof whenSchema>;

/**
 * What an action that cannot look for its own effect does when an earlier attempt's outcome is
 * unknown: `retry` sends it again with the same idempotency key; `dead_letter` hands the choice
 * to the operator (`ACTION_IN_DOUBT`); `skip` is the former name of `dead_letter` (an action in
 * doubt is never dropped silently).
 */
const onDoubt = z.lazy(() => z.enum(['retry', 'dead_letter', 'skip']));

const template = z.lazy(() => z.string().min(1).max(4000));

export const launchProcessSchema = z.lazy(() =>
  z.strictObject({
    type: z.literal('launch_process'),
    /** Template (checklist) id to launch; may be templated. */
    template: template,
    /** Process name (templated). */
    name: template,
    /** Process summary (templated); the action's marker is appended to it (and to the name). */
    summary: z.string().max(4000).optional(),
    /** Kick-off field values by alias or id (templated values). */
    kickoff: z.record(z.string().min(1), z.unknown()).optional(),
  }),
);

export const commentOnTaskSchema = z.lazy(() =>
  z.strictObject({
    type: z.literal('comment_on_task'),
    /** Task id. @default '{{task.id}}' (the event's task) */
    task: template.optional(),
    /** Comment text (templated). */
    content: template,
    /**
     * No longer read: an attempt in doubt reads the task's comments for its marker and posts only
     * when it is not there. Still accepted, so rules written before stay valid.
     * @deprecated
     */
    onDoubt: z.enum(['skip', 'retry']).optional(),
  }),
);

export const completeTaskSchema = z.lazy(() =>
  z.strictObject({
    type: z.literal('complete_task'),
    /** Task id (templated), e.g. `{{data.next_task.id}}`. */
    task: template,
    /** Process (run) id. @default '{{process.id}}' */
    process: template.optional(),
  }),
);

export const httpPostSchema = z.lazy(() =>
  z.strictObject({
    type: z.literal('http_post'),
    /** https URL (http only to loopback hosts, for local mode and tests). Not templated. */
    url: z.url({ protocol: /^https?$/ }),
    /**
     * Signing secret: `{name}` reads `<SECRET_PREFIX>/automations/<name>` from Secrets Manager
     * (recommended); `{value}` is kept in the rule item itself (DynamoDB, encrypted at rest).
     */
    secret: z.union([
      z.strictObject({
        name: z
          .string()
          .regex(new RegExp(`^[A-Za-z0-9/_+=.@-]{1,${SIGNING_KEY_NAME_MAX_LENGTH}}$`)),
      }),
      z.strictObject({ value: z.string().min(16).max(1024) }),
    ]),
    /** JSON body (templated values). @default the event view: {event, task, process, template, fields} */
    body: z.unknown().optional(),
    /** Extra headers (templated values). */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(2000)).optional(),
    /** Per attempt. @default 10000 */
    timeoutMs: z.number().int().min(100).max(60_000).optional(),
    /** The receiver dedupes by `Idempotency-Key` / `webhook-id`: an attempt in doubt is sent again. @default 'retry' */
    onDoubt: onDoubt.optional(),
  }),
);

export const publishSchema = z.lazy(() =>
  z.strictObject({
    type: z.literal('publish'),
    /** EventBridge detail-type of the custom event (source `tallyfy.automations`). */
    detailType: z.string().min(1).max(128),
    /** Detail (templated values). @default {event, task, process, template, fields} */
    detail: z.unknown().optional(),
    /** @default 'retry' (EventBridge consumers dedupe by `detail.markerId`) */
    onDoubt: onDoubt.optional(),
  }),
);

export const actionSchema = z.lazy(() =>
  z.discriminatedUnion('type', [
    launchProcessSchema,
    commentOnTaskSchema,
    completeTaskSchema,
    httpPostSchema,
    publishSchema,
  ]),
);
export type Action = z.infer<typeof actionSchema>;
export type ActionType = Action['type'];

/**
 * Actions that call Tallyfy's user-scoped endpoints (processes, tasks). A client-credentials
 * (app) token cannot run them: Tallyfy answers 401 (`TALLYFY_TOKEN_SCOPE_UNSUPPORTED`).
 */
export const USER_SCOPED_ACTIONS: readonly ActionType[] = Object.freeze([
  'launch_process',
  'comment_on_task',
  'complete_task',
]);

/**
 * The actions of a rule that need a user token, in order, without repeats.
 *
 * @example userScopedActions(parseRuleBody('r', body)) // ['launch_process', 'comment_on_task']
 */
export function userScopedActions(body: Pick<RuleBody, 'then'>): ActionType[] {
  return [
    ...new Set(
      body.then.map((action) => action.type).filter((t) => USER_SCOPED_ACTIONS.includes(t)),
    ),
  ];
}

/** A rule body: `when` → ordered `then` actions. */
export const ruleBodySchema = z.lazy(() =>
  z.strictObject({
    description: z.string().max(500).optional(),
    when: whenSchema,
    // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
    then: z.array(actionSchema).min(1).max(20),
  }),
);
export type RuleBody = z.infer<typeof ruleBodySchema>;

/**
 * Parses a rule body (the worker on read, the CLI before write).
 *
 * @throws RuleInvalidError naming each failed check (path and message, never a value)
 * @example parseRuleBody('po-approved', rule.body).then[0]?.type // 'launch_process'
 */
export function parseRuleBody(ruleId: string, body: unknown): RuleBody {
  const parsed = ruleBodySchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const checks = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
  throw new RuleInvalidError(ruleId, checks.join('; '), { cause: parsed.error });
}
