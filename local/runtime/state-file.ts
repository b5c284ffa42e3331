/**
 * `<DATA_DIR>/local.json`: what a running local mode serves, for the CLI (`--local`) and tests.
 * `outputs` uses the CloudFormation output names of the stack, so the CLI reads one shape for
 * both targets; `endpoints` holds the AWS endpoint overrides. It never holds a secret.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import {
  type DocumentSpec,
  loadDocument,
  type SalvageReport,
  scanObjects,
  writeFileAtomic,
} from '../persistence/index.ts';

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

const DemoRecordSchema = z.strictObject({ orgId: z.string(), registeredAt: z.string() });

/**
 * What is left of a damaged local.json: only the demo record matters to the next start (it is
 * rewritten at every start), so that is what salvage keeps.
 */
const SalvagedStateSchema = z.object({
  version: z.literal(LOCAL_STATE_VERSION),
  salvaged: z.literal(true),
  demo: DemoRecordSchema.optional(),
});
type StateDocument = LocalState | z.infer<typeof SalvagedStateSchema>;

function stateSpec(file: string): DocumentSpec<StateDocument> {
  return {
    file,
    parse: (value) => {
      const full = LocalStateSchema.safeParse(value);
      if (full.success) return full.data;
      const salvaged = SalvagedStateSchema.safeParse(value);
      return salvaged.success ? salvaged.data : undefined;
    },
    salvage: ({ partial, text }) => {
      const fromPrefix = (partial.value as { demo?: unknown } | undefined)?.demo;
      let demo = DemoRecordSchema.safeParse(fromPrefix).data;
      if (demo === undefined && !partial.complete) {
        const isDemo = (v: unknown) => DemoRecordSchema.safeParse(v).success;
        const found = scanObjects(text, partial.stoppedAt, isDemo).next();
        demo = found.done ? undefined : (found.value.value as z.infer<typeof DemoRecordSchema>);
      }
      const mentioned = text.includes('"demo"');
      return {
        document: { version: LOCAL_STATE_VERSION, salvaged: true, ...(demo ? { demo } : {}) },
        kept: demo ? 1 : 0,
        lost: mentioned && !demo ? 1 : 0,
      };
    },
    serialize: (document) => `${JSON.stringify(document, null, 2)}\n`,
  };
}

/** What the previous run left in local.json. */
export interface PreviousRun {
  /** Its whole state, when the file is intact. */
  state: LocalState | undefined;
  /** Its demo record, also when only that was salvaged. */
  demo: LocalState['demo'];
  salvage: SalvageReport | undefined;
}

/**
 * Reads the previous run's local.json. A damaged one is kept aside and its demo record
 * salvaged (the rest is rewritten at every start); `salvage: false` only reads.
 */
export async function readPreviousRun(
  file: string,
  nowMs: number,
  options: { salvage?: boolean } = {},
): Promise<PreviousRun> {
  if (options.salvage === false) {
    try {
      const state = LocalStateSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
      return { state: state.data, demo: state.data?.demo, salvage: undefined };
    } catch {
      return { state: undefined, demo: undefined, salvage: undefined };
    }
  }
  const loaded = await loadDocument(stateSpec(file), nowMs);
  const document = loaded.document;
  const state = document && 'salvaged' in document ? undefined : document;
  return { state, demo: document?.demo, salvage: loaded.salvage };
}

/** Writes the state atomically (temporary file renamed into place), mode 0600. */
export async function writeLocalState(file: string, state: LocalState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(LocalStateSchema.parse(state), null, 2)}\n`, {
    mode: 0o600,
  });
}
