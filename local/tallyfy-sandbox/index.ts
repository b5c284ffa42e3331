/**
 * The Tallyfy sandbox: an HTTP server that behaves as Tallyfy's API does, strictly
 * (see docs/sandbox.md). Tests, local mode and benchmarks start it in-process.
 */
export { SANDBOX_ERROR_CODES, SandboxError } from './errors.ts';
export {
  DEFAULT_SEED_NOW,
  type GeneratedDataset,
  type GeneratedOrg,
  generateDataset,
} from './generate.ts';
export {
  openSandboxState,
  type SandboxPersistence,
  type SandboxState,
  type SandboxStateOptions,
} from './persistence.ts';
export { type StartedSandbox, startSandbox } from './sandbox.ts';
export { DEMO } from './seed.ts';
export type {
  CommentRecord,
  GroupRecord,
  GuestRecord,
  OrgRecord,
  RunRecord,
  RunStatus,
  SandboxStore,
  StepRecord,
  TagRecord,
  TaskRecord,
  TaskStatus,
  TemplateRecord,
  UserRecord,
  WatcherRecord,
} from './store.ts';
export type {
  ActionCaps,
  ClientCredentials,
  DemoIds,
  Fault,
  RateLimit,
  Sandbox,
  SandboxOptions,
  SandboxStats,
  SeedSpec,
  SeedSpecOrg,
  UserCredentials,
  WebhookDelivery,
} from './types.ts';
