/**
 * The five Lambda parts of the architecture: their names (like their `functions/<part>`
 * folders), handler entries and bundle size budgets. One list, so the stack, the bundle test and
 * the bundle bench can never disagree about what is deployed.
 */
import { fileURLToPath } from 'node:url';
import { SERVICE_NAMES } from '../../shared/observability/services.ts';

/**
 * The Lambda parts of the architecture, named like their `functions/<part>` folders: the
 * service names of `shared/observability/services.ts` (their logs' `service` field and their
 * metrics' `service` dimension).
 */
export const TALLYFY_PARTS = [
  SERVICE_NAMES.refresher,
  SERVICE_NAMES.receiver,
  SERVICE_NAMES.worker,
  SERVICE_NAMES.reconciler,
  SERVICE_NAMES.reporter,
] as const;

/** One Lambda part of the architecture. */
export type TallyfyPart = (typeof TALLYFY_PARTS)[number];

/**
 * Absolute path of each part's handler module (`functions/<part>/index.ts`, exporting
 * `handler`), resolved from this file so a customer's app finds them whatever its working
 * directory.
 */
export const FUNCTION_ENTRIES: Readonly<Record<TallyfyPart, string>> = Object.freeze(
  Object.fromEntries(
    TALLYFY_PARTS.map((part) => [
      part,
      fileURLToPath(new URL(`../../functions/${part}/index.ts`, import.meta.url)),
    ]),
  ) as Record<TallyfyPart, string>,
);

/**
 * Largest `index.mjs` (minified ESM, AWS SDK bundled) each part may ship, in bytes: set about
 * 10% above the sizes measured on 2026-12-03; the sizes after the merges and issue 10 §3 (schemas
 * built on first use), in the comments, are 7.6-8.8% under them (the AWS SDK clients alone are
 * 355-596 kB of it, undici's Pool 300 kB where Tallyfy is called). A bundle over budget fails
 * `test/infra/bundles.test.ts`: raise a budget only on purpose (a new SDK client), since
 * parsing the bundle is most of a Node cold start. Figures and the cold-start ratios:
 * `npm run bench -- bundles` (docs/benchmarks.md).
 */
export const BUNDLE_SIZE_BUDGET_BYTES: Readonly<Record<TallyfyPart, number>> = Object.freeze({
  'token-refresher': 970_000, // 895 kB: DynamoDB, Secrets Manager, undici
  'webhook-receiver': 790_000, // 726 kB: DynamoDB, SQS, S3
  'event-worker': 1_290_000, // 1,188 kB: DynamoDB, Secrets Manager, SQS, S3, EventBridge, Lambda, undici
  reconciler: 1_100_000, // 1,017 kB: DynamoDB, Secrets Manager, SQS, Lambda, undici
  reporter: 1_230_000, // 1,143 kB: DynamoDB, Secrets Manager, S3, Lambda, undici
});
