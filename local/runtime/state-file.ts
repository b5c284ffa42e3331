/**
 * `<DATA_DIR>/local.json`: what a running local mode serves, for the CLI (`--local`) and tests.
 * `outputs` uses the CloudFormation output names of the stack, so the CLI reads one shape for
 * both targets; `endpoints` holds the AWS endpoint overrides. It never holds a secret.
 */
import * as z from 'zod';
import { readTextIfExists, writeFileAtomic } from '../../shared/files.ts';

export const LOCAL_STATE_VERSION = 1;

export const LocalStateSchema = z.object({
  version: z.literal(LOCAL_STATE_VERSION),
  /** `false` once local mode stopped cleanly; a crashed process leaves `true` with a dead `pid`. */
  running: z.boolean(),
  pid: z.number().int(),
  startedAt: z.string(),
  stoppedAt: z.string().optional(),
  dataDir: z.string(),
  region: z.string(),
  urls: z.object({
    /** `http://127.0.0.1:<PORT>` */
    http: z.string(),
    health: z.string(),
    /** `POST <invoke>/<function>` with a JSON event (loopback only). */
    invoke: z.string(),
    /** The Tallyfy API root in use (the sandbox's, or TALLYFY_BASE_URL). */
    tallyfy: z.string(),
    /**
     * The OAuth token endpoint in use (the sandbox's own origin, or TALLYFY_TOKEN_URL). Absent in
     * files of earlier versions: the CLI then derives it from `tallyfy`.
     */
    tallyfyToken: z.string().optional(),
    /** The sandbox's origin (admin routes under `/_sandbox/`), `null` with TALLYFY_BASE_URL. */
    sandbox: z.string().nullable(),
  }),
  endpoints: z.object({
    dynamodb: z.string(),
    secretsManager: z.string(),
    sqs: z.string().nullable(),
    eventBridge: z.string().nullable(),
  }),
  /** Same names as the stack's CloudFormation outputs. */
  outputs: z.object({
    WebhookBaseUrl: z.string(),
    OrgsTableName: z.string(),
    SecretPrefix: z.string(),
    EventsQueueUrl: z.string().nullable(),
    DeadLetterQueueUrl: z.string().nullable(),
    EventBusName: z.string(),
    /** Local directories where AWS has buckets. */
    ArchiveDirectory: z.string(),
    ReportsDirectory: z.string(),
    TokenRefresherFunctionName: z.string().nullable(),
    ReconcilerFunctionName: z.string().nullable(),
    ReporterFunctionName: z.string().nullable(),
  }),
  /** Functions `POST /_local/invoke/<name>` runs. */
  functions: z.array(z.string()),
  /** Set once the demo org was registered, so removing it is not undone by a restart. */
  demo: z.object({ orgId: z.string(), registeredAt: z.string() }).optional(),
});
export type LocalState = z.infer<typeof LocalStateSchema>;

/** The previous state, or `undefined` when there is none or it is not ours. */
export async function readLocalState(file: string): Promise<LocalState | undefined> {
  const text = await readTextIfExists(file);
  if (text === undefined) return undefined;
  // a file from another version, or half-edited by hand, is replaced rather than trusted
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = LocalStateSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** Writes the state atomically (temporary file renamed into place), mode 0600. */
export async function writeLocalState(file: string, state: LocalState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(LocalStateSchema.parse(state), null, 2)}\n`, {
    mode: 0o600,
  });
}
