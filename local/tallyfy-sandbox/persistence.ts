/**
 * The sandbox's state on disk (local mode keeps it in `<DATA_DIR>/sandbox.jsonl`), so a restart
 * finds the processes, tasks and tokens that queued events refer to, as Tallyfy would. A layer
 * of its own: it snapshots and restores the store and the token registry, and journals what
 * changed; the sandbox's request handling only calls `commit()` before it answers or sends a
 * webhook. Files go through `local/persistence` (group commit, compaction, salvage).
 */
import {
  type Journal,
  type JournalSpec,
  keepAside,
  loadJournal,
  openJournal,
  type SalvageReport,
} from '../persistence/index.ts';
import type {
  ClientRecord,
  CommentRecord,
  GroupRecord,
  GuestRecord,
  OrgRecord,
  RunRecord,
  SandboxStore,
  StoreChange,
  StoreKind,
  TagRecord,
  TaskRecord,
  TemplateRecord,
  UserRecord,
  WatcherRecord,
} from './store.ts';
import type { AccessToken, RefreshToken, TokenRegistry } from './tokens.ts';

/** How `startSandbox` uses a persistence layer (see `SandboxOptions.persistence`). */
export interface SandboxPersistence {
  /**
   * Called once, before seeding: fills the store and the tokens from the saved state.
   * @returns `false` when there was none (or a fresh start was asked): seed as usual
   */
  bind(state: { store: SandboxStore; tokens: TokenRegistry; clock: () => number }): boolean;
  /** Makes every change so far durable; awaited before each answer and each webhook sent. */
  commit(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link openSandboxState}. */
export interface SandboxStateOptions {
  /** The journal file. */
  file: string;
  /** Start from the seed; the saved state is kept aside (`<file>.fresh-<time>`), not deleted. */
  fresh?: boolean;
  /** @default Date.now */
  clock?: () => number;
}

export interface SandboxState extends SandboxPersistence {
  /** Set when the file was damaged (kept aside, every whole record restored). */
  readonly salvage: SalvageReport | undefined;
  /** Where a fresh start put the previous state. */
  readonly keptAsideAt: string | undefined;
  /** After `bind`: whether the sandbox came back from the file rather than its seed. */
  restored(): boolean;
}

type UserLine = Omit<UserRecord, 'roles'> & {
  roles: Array<[string, UserRecord['roles'] extends Map<string, infer R> ? R : never]>;
};

/** One line of the journal: a record by kind, a removed watcher, or a token. */
type SandboxRecord =
  | { org: OrgRecord }
  | { user: UserLine }
  | { client: ClientRecord }
  | { template: TemplateRecord }
  | { run: RunRecord }
  | { task: TaskRecord }
  | { comment: CommentRecord }
  | { group: GroupRecord }
  | { guest: GuestRecord }
  | { tag: TagRecord }
  | { watcher: WatcherRecord }
  | { unwatch: { orgId: string; id: string } }
  | { access: AccessToken & { token: string } }
  | { refresh: RefreshToken & { token: string } };

const STORE_KINDS: readonly StoreKind[] = [
  'org',
  'user',
  'client',
  'template',
  'run',
  'task',
  'comment',
  'group',
  'guest',
  'tag',
  'watcher',
];

/** The key a record is known by (the last line for a key wins). */
function keyOf(kind: string, value: Record<string, unknown>): string | undefined {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  switch (kind) {
    case 'client':
      return text(value.clientId);
    case 'guest':
      return text(value.orgId) && text(value.email)
        ? `${value.orgId}\u0000${value.email}`
        : undefined;
    case 'access':
    case 'refresh':
      return text(value.token);
    case 'unwatch':
      return text(value.orgId) && text(value.id) ? String(value.id) : undefined;
    default:
      return STORE_KINDS.includes(kind as StoreKind) ? text(value.id) : undefined;
  }
}

function sandboxJournalSpec(file: string): JournalSpec<SandboxRecord> {
  return {
    file,
    kind: 'tallyfy-sandbox',
    version: 1,
    parse: (line) => {
      if (typeof line !== 'object' || line === null || Array.isArray(line)) return undefined;
      const entries = Object.entries(line);
      const [kind, value] = entries[0] ?? [];
      if (entries.length !== 1 || kind === undefined) return undefined;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      return keyOf(kind, value as Record<string, unknown>) === undefined
        ? undefined
        : (line as SandboxRecord);
    },
  };
}

/**
 * Reads the saved state (salvaging a damaged file) and opens the journal. Pass the result as
 * `persistence` to `startSandbox`.
 *
 * @example
 * const state = await openSandboxState({ file: '.data/sandbox.jsonl' });
 * const sandbox = await startSandbox({ persistence: state });
 * state.restored(); // true on every start after the first
 */
export async function openSandboxState(options: SandboxStateOptions): Promise<SandboxState> {
  const clock = options.clock ?? Date.now;
  const spec = sandboxJournalSpec(options.file);
  const loaded = await loadJournal(spec, clock());
  let keptAsideAt: string | undefined;
  let saved = loaded.records;
  if (options.fresh && loaded.existed) {
    keptAsideAt = await keepAside(options.file, 'fresh', clock());
    saved = [];
  }
  let bound: { store: SandboxStore; tokens: TokenRegistry; clock: () => number } | undefined;
  let restored = false;
  let snapshotDue = true;
  let last: Promise<void> | undefined;
  const journal: Journal<SandboxRecord> = await openJournal(spec, {
    snapshot: () => (bound ? snapshotRecords(bound.store, bound.tokens, bound.clock()) : []),
    compactOnOpen: false,
  });

  return {
    salvage: loaded.salvage,
    keptAsideAt,
    restored: () => restored,
    bind(state) {
      bound = state;
      restored = saved.length > 0 && restore(state.store, state.tokens, saved);
      saved = [];
      state.store.trackChanges = true;
      state.tokens.trackChanges = true;
      return restored;
    },
    commit() {
      if (bound === undefined) return Promise.resolve();
      const changes = bound.store.takeChanges();
      const tokenChanges = bound.tokens.takeChanges();
      let next: Promise<void> | undefined;
      if (snapshotDue || changes.unknown) {
        // a seed, a restore, or a change nobody named: write the whole state once
        snapshotDue = false;
        next = journal.compact();
      } else {
        const records: SandboxRecord[] = [
          ...changes.records.map(recordOf),
          ...changes.removedWatchers.map((w) => ({ unwatch: w })),
          ...tokenChanges.access.map(([token, entry]) => ({ access: { ...entry, token } })),
          ...tokenChanges.refresh.map(([token, entry]) => ({ refresh: { ...entry, token } })),
        ];
        if (records.length > 0) next = journal.append(records);
      }
      if (next === undefined) return last ?? Promise.resolve();
      // a failed write lost the changes it held: the next commit writes everything
      next = next.catch((error: unknown) => {
        snapshotDue = true;
        throw error;
      });
      last = next;
      return next;
    },
    async close() {
      await journal.close();
    },
  };
}

function recordOf(change: StoreChange): SandboxRecord {
  if (change.kind === 'user') return { user: userLine(change.record as UserRecord) };
  return { [change.kind]: change.record } as SandboxRecord;
}

function userLine(user: UserRecord): UserLine {
  return { ...user, roles: [...user.roles.entries()] };
}

/** Everything, in an order that restores the store's lists as they were. */
function* snapshotRecords(
  store: SandboxStore,
  tokens: TokenRegistry,
  nowMs: number,
): Generator<SandboxRecord> {
  for (const org of store.orgs.values()) yield { org };
  for (const user of store.users.values()) yield { user: userLine(user) };
  for (const client of store.clients.values()) yield { client };
  for (const template of store.templates.values()) yield { template };
  for (const run of store.runs.values()) yield { run };
  for (const task of store.tasks.values()) yield { task };
  for (const comment of store.comments) yield { comment };
  for (const org of store.orgs.values()) {
    const index = store.index(org.id);
    for (const group of index.groups) yield { group };
    for (const guest of index.guests) yield { guest };
    for (const tag of index.tags) yield { tag };
    for (const watcher of index.watchers) yield { watcher };
  }
  for (const token of tokens.entries(nowMs)) {
    yield token.kind === 'access'
      ? { access: { ...token.entry, token: token.token } }
      : { refresh: { ...token.entry, token: token.token } };
  }
}

/** Rebuilds the store and tokens from journal records (the last line per record wins). */
function restore(store: SandboxStore, tokens: TokenRegistry, records: SandboxRecord[]): boolean {
  const latest = new Map<string, Map<string, Record<string, unknown>>>();
  const put = (kind: string, value: Record<string, unknown>) => {
    const key = keyOf(kind, value);
    if (key === undefined) return;
    let byKey = latest.get(kind);
    if (byKey === undefined) {
      byKey = new Map();
      latest.set(kind, byKey);
    }
    byKey.set(key, value);
  };
  for (const record of records) {
    const [kind, value] = Object.entries(record)[0] as [string, Record<string, unknown>];
    if (kind === 'unwatch') latest.get('watcher')?.delete(String(value.id));
    else put(kind, value);
  }
  const all = <T>(kind: string) => [...(latest.get(kind)?.values() ?? [])] as T[];
  for (const org of all<OrgRecord>('org')) store.putOrg(org);
  for (const line of all<UserLine>('user')) {
    const user: UserRecord = { ...line, roles: new Map(line.roles) };
    for (const orgId of user.roles.keys()) store.putUser(user, orgId);
  }
  for (const client of all<ClientRecord>('client')) store.clients.set(client.clientId, client);
  for (const template of all<TemplateRecord>('template')) store.putTemplate(template);
  const tasks = latest.get('task') ?? new Map();
  for (const run of all<RunRecord>('run')) {
    const ofRun = run.taskIds.map((id) => tasks.get(id)).filter((t) => t !== undefined);
    store.putRun(run, ofRun as unknown as TaskRecord[]);
  }
  for (const comment of all<CommentRecord>('comment')) store.putComment(comment);
  for (const group of all<GroupRecord>('group')) store.putGroup(group);
  for (const guest of all<GuestRecord>('guest')) store.putGuest(guest);
  for (const tag of all<TagRecord>('tag')) store.putTag(tag);
  for (const watcher of all<WatcherRecord>('watcher')) store.putWatcher(watcher);
  for (const entry of all<AccessToken & { token: string }>('access')) {
    const { token, ...rest } = entry;
    tokens.restoreAccess(token, rest);
  }
  for (const entry of all<RefreshToken & { token: string }>('refresh')) {
    const { token, ...rest } = entry;
    tokens.restoreRefresh(token, rest);
  }
  return store.orgs.size > 0;
}
