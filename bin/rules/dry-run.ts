/**
 * `rules test`: what the worker would do with an event, without doing it. The event goes
 * through the receiver's classification and envelope, the rules through the engine's schema and
 * matcher, and each action through `prepareAction` (templates rendered exactly as the worker
 * renders them); nothing is recorded, sent or launched.
 */

import {
  type Action,
  type ActionEnv,
  eventView,
  matches,
  parseRuleBody,
  prepareAction,
  renderValue,
} from '../../shared/automations/index.ts';
import {
  createEnvelope,
  type EventEnvelope,
  eventEnvelopeSchema,
} from '../../shared/events/index.ts';
import { createLogger } from '../../shared/observability/index.ts';
import { actionMarker, type Rule } from '../../shared/orgs/index.ts';
import { classifyWebhook } from '../../shared/webhooks/index.ts';
import { CliError } from '../errors.ts';

export interface ActionPlan {
  index: number;
  type: Action['type'];
  /** The action with its templates rendered (signing secrets hidden). */
  would: Record<string, unknown>;
  /** Why it could not be rendered (a template naming nothing, …). */
  error?: string;
}

export interface RulePlan {
  ruleId: string;
  enabled: boolean;
  matched: boolean;
  /** The body fails the rules schema: the worker skips such a rule. */
  invalid?: string;
  actions: ActionPlan[];
}

export interface DryRun {
  event: { id: string; type: string; subject: string | null; time: string };
  rules: RulePlan[];
}

/**
 * Turns a JSON document into the envelope the worker would get: an envelope as is (e.g. a
 * dead letter's body), else a Tallyfy webhook payload classified as the receiver does.
 */
export function envelopeFor(orgId: string, json: unknown, receivedAtMs: number): EventEnvelope {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new CliError(
      'CLI_INPUT_INVALID',
      'The event must be a JSON object (a Tallyfy webhook payload or an event envelope).',
    );
  }
  if ('specversion' in json) {
    const parsed = eventEnvelopeSchema.safeParse(json);
    if (!parsed.success) {
      const checks = parsed.error.issues.map(
        (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
      );
      throw new CliError(
        'CLI_INPUT_INVALID',
        `The event looks like an envelope but is not one: ${checks.join('; ')}.`,
      );
    }
    if (parsed.data.orgId !== orgId) {
      throw new CliError(
        'CLI_INPUT_INVALID',
        `The event envelope is of org ${parsed.data.orgId}, not ${orgId}.`,
      );
    }
    return parsed.data;
  }
  const classified = classifyWebhook(json as Record<string, unknown>);
  if (!classified.ok) {
    const issues = classified.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new CliError(
      'CLI_INPUT_INVALID',
      `The receiver would refuse this payload (400): ${issues}.`,
    );
  }
  const { type, subjectId, occurredAt } = classified.classification;
  return createEnvelope({
    orgId,
    type,
    ...(subjectId === undefined ? {} : { subjectId }),
    ...(occurredAt === undefined ? {} : { occurredAt }),
    receivedAtMs,
    origin: 'webhook',
    data: json,
  });
}

const refuse = (what: string) => () => {
  throw new CliError('CLI_UNEXPECTED', `The dry run called ${what}, which it never should.`);
};

/** Hides signing secrets kept in a rule (`http_post.secret.value`) wherever it is shown. */
export function redactAction(action: Record<string, unknown>): Record<string, unknown> {
  const secret = action.secret;
  if (typeof secret === 'object' && secret !== null && 'value' in secret) {
    return { ...action, secret: { value: '[redacted]' } };
  }
  return action;
}

/** Redacts every action of a rule body for display. */
export function redactRuleBody(body: Record<string, unknown>): Record<string, unknown> {
  const then = body.then;
  if (!Array.isArray(then)) return body;
  return {
    ...body,
    // biome-ignore lint/suspicious/noThenProperty: the rules format names its actions `then`
    then: then.map((action) =>
      typeof action === 'object' && action !== null
        ? redactAction(action as Record<string, unknown>)
        : action,
    ),
  };
}

export function dryRun(
  envelope: EventEnvelope,
  rules: readonly Rule[],
  clock: () => number,
): DryRun {
  const view = eventView(envelope, envelope.data);
  const logger = createLogger({ serviceName: 'cli-dry-run', level: 'SILENT' });
  const plans: RulePlan[] = rules.map((rule) => {
    let body: ReturnType<typeof parseRuleBody>;
    try {
      body = parseRuleBody(rule.ruleId, rule.body);
    } catch (error) {
      return {
        ruleId: rule.ruleId,
        enabled: rule.enabled,
        matched: false,
        invalid: error instanceof Error ? error.message : String(error),
        actions: [],
      };
    }
    const matched = rule.enabled && matches(body.when, view);
    const actions: ActionPlan[] = [];
    if (matched) {
      const results: Record<string, unknown>[] = [];
      for (const [index, action] of body.then.entries()) {
        const context = { ...view, actions: results };
        const env: ActionEnv = {
          orgId: envelope.orgId,
          ruleId: rule.ruleId,
          actionIndex: index,
          marker: actionMarker({ dedupeKey: envelope.id, ruleId: rule.ruleId, actionIndex: index }),
          view,
          context,
          tallyfy: refuse('Tallyfy'),
          secrets: { get: refuse('the signing secrets store') },
          publisher: { publish: refuse('EventBridge') },
          clock,
          logger,
        };
        const { type, onDoubt: _onDoubt, ...rest } = action as Action & { onDoubt?: unknown };
        try {
          prepareAction(action, env);
          const rendered = renderValue(rest, context) as Record<string, unknown>;
          // http_post URLs are not templated: show them as written
          if (action.type === 'http_post') rendered.url = action.url;
          actions.push({ index, type, would: redactAction(rendered) });
        } catch (error) {
          actions.push({
            index,
            type,
            would: redactAction(rest as Record<string, unknown>),
            error: error instanceof Error ? error.message : String(error),
          });
        }
        // what the action returns is known only when it runs
        results.push({});
      }
    }
    return { ruleId: rule.ruleId, enabled: rule.enabled, matched, actions };
  });
  return {
    event: {
      id: envelope.id,
      type: envelope.type,
      subject: envelope.subject ?? null,
      time: envelope.time,
    },
    rules: plans,
  };
}
