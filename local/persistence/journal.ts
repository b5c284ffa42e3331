/**
 * Append-only JSON-lines files ("journals"): one record per line, appended as changes happen,
 * rewritten now and then from the live state (compaction). A crash can only cut the line being
 * written; reading keeps every line that still parses and reports the rest.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PRIVATE_FILE_MODES, syncDirectory, writeFileAtomic } from '../../shared/files.ts';
import { DataFileError } from './errors.ts';
import { keepAside } from './keep-aside.ts';
import type { SalvageReport } from './salvage.ts';

/** What a journal file holds and how to read its records. */
export interface JournalSpec<R> {
  /** Absolute path of the JSON-lines file. */
  file: string;
  /**
   * Written as the first line, `{"journal":"<kind>","version":<version>}`, so a file that is
   * not this journal, or is from a newer version, is recognised. `null`: no header line (files
   * people read line by line, such as the bus log).
   */
  kind: string | null;
  /** Format version written in the header. @default 1 */
  version?: number;
  /** The record of one parsed line, or `undefined` when the line is not a valid record. */
  parse(value: unknown): R | undefined;
}

/** What {@link loadJournal} found. */
export interface LoadedJournal<R> {
  /** Every valid record, in file order. */
  records: R[];
  /** Set when the file was damaged: it was kept aside and rewritten with the valid records. */
  salvage: SalvageReport | undefined;
  /** Whether the file existed. */
  existed: boolean;
}

/**
 * Reads a journal. A damaged file (a line that does not parse or is not a valid record, a cut
 * last line, a missing or foreign header) is kept aside untouched (`<file>.damaged-<time>`) and
 * rewritten with every line that is still a valid record; the report says how many were kept
 * and lost. A missing file is an empty journal.
 *
 * @throws DataFileError `LOCAL_DATA_FILE_NEWER` for a file from a newer format version (nothing is
 *   changed: an older local mode must not rewrite it); `LOCAL_DATA_FILE_IO` when it cannot be read
 */
export async function loadJournal<R>(
  spec: JournalSpec<R>,
  nowMs: number = Date.now(),
): Promise<LoadedJournal<R>> {
  let text: string;
  try {
    text = await readFile(spec.file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { records: [], salvage: undefined, existed: false };
    }
    throw new DataFileError(
      'LOCAL_DATA_FILE_IO',
      spec.file,
      `${spec.file} cannot be read: ${String(error)}`,
      {
        cause: error,
      },
    );
  }
  const version = spec.version ?? 1;
  const lines = text.split('\n');
  // everything after the last newline is a line whose write was cut (or empty)
  const tail = lines.pop() ?? '';
  const records: R[] = [];
  const goodLines: string[] = [];
  const problems: string[] = [];
  let badLines = 0;
  let firstBad: number | undefined;
  let headerSeen = spec.kind === null;
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (!headerSeen) {
      headerSeen = true;
      const header = value as { journal?: unknown; version?: unknown } | undefined;
      if (header?.journal === spec.kind && typeof header.version === 'number') {
        if (header.version > version) {
          throw new DataFileError(
            'LOCAL_DATA_FILE_NEWER',
            spec.file,
            `${spec.file} was written by a newer version of local mode (format ${header.version}, this one reads ${version}): run that version, or start with another DATA_DIR.`,
          );
        }
        continue;
      }
      problems.push(`the first line is not a ${spec.kind} journal header`);
    }
    const record = value === undefined ? undefined : spec.parse(value);
    if (record === undefined) {
      badLines += 1;
      firstBad ??= index + 1;
      continue;
    }
    records.push(record);
    goodLines.push(line);
  }
  const cut = tail.trim() !== '';
  if (badLines > 0) {
    problems.push(
      `${badLines} ${badLines === 1 ? 'line is' : 'lines are'} not a valid record (first at line ${firstBad})`,
    );
  }
  if (cut) problems.push('the last line is cut short (a write interrupted by a crash)');
  if (!headerSeen && spec.kind !== null && text.length > 0) {
    problems.push(`the ${spec.kind} journal header is missing`);
  }
  if (problems.length === 0) return { records, salvage: undefined, existed: true };

  const keptAt = await keepAside(spec.file, 'damaged', nowMs);
  await writeFileAtomic(spec.file, journalText(spec, goodLines), PRIVATE_FILE_MODES);
  return {
    records,
    existed: true,
    salvage: {
      file: spec.file,
      keptAt,
      kept: records.length,
      lost: badLines + (cut ? 1 : 0),
      reason: problems.join('; '),
    },
  };
}

/** Options of {@link openJournal}. */
export interface JournalWriterOptions<R> {
  /** The live state as records: compaction writes a new file holding only these. */
  snapshot(): Iterable<R>;
  /** fsync every commit, so an acknowledged append survives a power loss too. @default true */
  sync?: boolean;
  /**
   * Compact once the file is larger than both `minBytes` and `ratio` × its size right after the
   * last compaction, so rewriting costs a bounded share of what was appended, whatever the
   * backlog. @default { minBytes: 4 MiB, ratio: 2 }
   */
  compaction?: { minBytes?: number; ratio?: number };
  /** Rewrite the file from `snapshot()` when opening (drops what the log no longer needs). @default true */
  compactOnOpen?: boolean;
  /** A compaction that failed (appends go on to the old file). */
  onCompactionError?: (error: unknown) => void;
}

export interface JournalStats {
  bytes: number;
  /** Records appended since open. */
  records: number;
  /** Writes (one per group of appends waiting together). */
  commits: number;
  compactions: number;
}

/** An open journal: appends are durable when their promise resolves. */
export interface Journal<R> {
  /**
   * Appends records. Appends made while a write is in flight are written together next (group
   * commit): one write and one fsync for all of them.
   * @throws DataFileError `LOCAL_JOURNAL_BROKEN` when the write failed (nothing of it is kept)
   */
  append(records: readonly R[]): Promise<void>;
  /** Rewrites the file from the snapshot now (after the appends already waiting). */
  compact(): Promise<void>;
  stats(): JournalStats;
  /** Waits for the appends in flight, then closes the file. */
  close(): Promise<void>;
}

const DEFAULT_MIN_BYTES = 4 * 1024 * 1024;

interface Waiting {
  data: string;
  count: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Opens a journal for appending (after {@link loadJournal} read it).
 *
 * @example
 * const loaded = await loadJournal(spec);
 * const state = replay(loaded.records);
 * const journal = await openJournal(spec, { snapshot: () => recordsOf(state) });
 * await journal.append([{ put: message }]); // durable now
 */
export async function openJournal<R>(
  spec: JournalSpec<R>,
  options: JournalWriterOptions<R>,
): Promise<Journal<R>> {
  const sync = options.sync ?? true;
  const minBytes = options.compaction?.minBytes ?? DEFAULT_MIN_BYTES;
  const ratio = options.compaction?.ratio ?? 2;
  const stats: JournalStats = { bytes: 0, records: 0, commits: 0, compactions: 0 };
  let compactedBytes = 0;
  let handle: FileHandle | undefined;
  let broken: DataFileError | undefined;
  let closed = false;
  const queue: Waiting[] = [];
  let running: Promise<void> | undefined;
  let compactRequested = false;
  const compactWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  let compaction: Compaction | undefined;

  const io = (what: string, error: unknown) =>
    new DataFileError(
      'LOCAL_DATA_FILE_IO',
      spec.file,
      `${spec.file}: ${what} failed: ${String(error)}`,
      {
        cause: error,
      },
    );

  const reopen = async () => {
    handle = await open(spec.file, 'a', 0o600);
    stats.bytes = (await handle.stat()).size;
  };

  const snapshotText = () =>
    journalText(
      spec,
      [...options.snapshot()].map((record) => JSON.stringify(record)),
    );

  /** The rewrite at open: nothing appends yet. */
  const rewrite = async () => {
    await handle?.close();
    handle = undefined;
    await writeFileAtomic(spec.file, snapshotText(), PRIVATE_FILE_MODES);
    await reopen();
    compactedBytes = stats.bytes;
    stats.compactions += 1;
  };

  const write = async (batch: Waiting[]) => {
    const data = batch.map((w) => w.data).join('');
    const buffer = Buffer.from(data, 'utf8');
    const file = handle;
    if (file === undefined) throw io('append', new Error('the journal is not open'));
    const goodLength = stats.bytes;
    try {
      await writeAll(file, buffer);
      if (sync) await file.datasync();
    } catch (error) {
      // a partial line would glue onto the next record: cut the file back to its last good end
      try {
        await truncate(spec.file, goodLength);
      } catch (truncateError) {
        broken = new DataFileError(
          'LOCAL_JOURNAL_BROKEN',
          spec.file,
          `${spec.file}: a write failed and the file could not be restored (${String(truncateError)}); restart local mode.`,
          { cause: error },
        );
        throw broken;
      }
      throw io('append', error);
    }
    stats.bytes += buffer.length;
    stats.commits += 1;
    // written after the snapshot: the new file gets it too
    compaction?.tail.push(data);
  };

  /**
   * Compaction, part one (appends go on meanwhile): the live state is serialized now and
   * written to a temporary file beside the journal; appends made from now on are remembered.
   */
  const startCompaction = () => {
    compactRequested = false;
    let text: string;
    try {
      text = snapshotText();
    } catch (error) {
      compactedBytes = stats.bytes;
      options.onCompactionError?.(error);
      for (const w of compactWaiters.splice(0)) w.reject(error);
      return;
    }
    const started: Compaction = {
      temporary: `${spec.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
      tail: [],
      waiters: compactWaiters.splice(0),
      file: undefined,
      error: undefined,
      written: false,
      settled: Promise.resolve(),
    };
    compaction = started;
    started.settled = (async () => {
      try {
        started.file = await open(started.temporary, 'w', PRIVATE_FILE_MODES.mode);
        await writeAll(started.file, Buffer.from(text, 'utf8'));
        await started.file.sync();
      } catch (error) {
        started.error = error;
      }
      started.written = true;
      kick();
    })();
  };

  /**
   * Compaction, part two (between two appends): the appends made since the snapshot go after
   * it in the new file, which then takes the journal's place. Until the rename the journal is
   * untouched, so a crash at any point keeps every acknowledged record.
   */
  const finishCompaction = async (done: Compaction) => {
    compaction = undefined;
    const failed = async (error: unknown) => {
      // the failure reported is the compaction's; a close that fails too adds nothing to it
      await done.file?.close().catch(() => undefined);
      await rm(done.temporary, { force: true });
      // push the next attempt out, so a failing compaction is not retried on every append
      compactedBytes = stats.bytes;
      options.onCompactionError?.(error);
      for (const w of done.waiters) w.reject(error);
    };
    if (done.error !== undefined || broken) return failed(done.error ?? broken);
    const file = done.file as FileHandle;
    try {
      if (done.tail.length > 0) {
        await writeAll(file, Buffer.from(done.tail.join(''), 'utf8'));
        await file.sync();
      }
      await file.close();
      await rename(done.temporary, spec.file);
    } catch (error) {
      return failed(error);
    }
    // the new file is the journal now: append to it
    try {
      await handle?.close();
      handle = undefined;
      await syncDirectory(dirname(spec.file));
      await reopen();
    } catch (error) {
      if (handle === undefined) {
        try {
          await reopen();
        } catch (reopenError) {
          broken = io('reopen after a compaction', reopenError);
        }
      }
      compactedBytes = stats.bytes;
      options.onCompactionError?.(error);
      for (const w of done.waiters) w.reject(error);
      return;
    }
    compactedBytes = stats.bytes;
    stats.compactions += 1;
    for (const w of done.waiters) w.resolve();
  };

  const more = () =>
    queue.length > 0 ||
    compaction?.written === true ||
    (compactRequested && compaction === undefined);

  const drain = async () => {
    while (more()) {
      const batch = queue.splice(0);
      if (batch.length > 0) {
        try {
          if (broken) throw broken;
          await write(batch);
          for (const waiting of batch) {
            stats.records += waiting.count;
            waiting.resolve();
          }
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
      if (compaction?.written) await finishCompaction(compaction);
      const due = stats.bytes > minBytes && stats.bytes > ratio * compactedBytes;
      if ((due || compactRequested) && compaction === undefined) {
        if (broken) {
          for (const w of compactWaiters.splice(0)) w.reject(broken);
          compactRequested = false;
        } else {
          startCompaction();
        }
      }
    }
  };

  const kick = () => {
    running ??= drain().finally(() => {
      running = undefined;
      if (more()) kick();
    });
  };

  const exists = await stat(spec.file).then(
    () => true,
    () => false,
  );
  if (!exists || (options.compactOnOpen ?? true)) {
    await rewrite();
    stats.compactions = 0;
  } else {
    await reopen();
    compactedBytes = stats.bytes;
  }

  return {
    append(records) {
      if (closed) {
        return Promise.reject(
          new DataFileError('LOCAL_JOURNAL_CLOSED', spec.file, `${spec.file} is closed`),
        );
      }
      if (broken) return Promise.reject(broken);
      if (records.length === 0) return Promise.resolve();
      const data = records.map((record) => `${JSON.stringify(record)}\n`).join('');
      return new Promise<void>((resolve, reject) => {
        queue.push({ data, count: records.length, resolve, reject });
        kick();
      });
    },
    compact() {
      return new Promise<void>((resolve, reject) => {
        compactWaiters.push({ resolve, reject });
        compactRequested = true;
        kick();
      });
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      // the appends in flight, and a compaction under way (it ends with the drain it kicks)
      while (running !== undefined || compaction !== undefined) {
        await (running ?? compaction?.settled);
      }
      await handle?.close();
      handle = undefined;
    },
  };
}

/** A compaction under way (see `startCompaction` and `finishCompaction` in {@link openJournal}). */
interface Compaction {
  /** The new file, beside the journal until it takes its place. */
  temporary: string;
  file: FileHandle | undefined;
  /** What was appended since the snapshot, in order: it goes after the snapshot. */
  tail: string[];
  /** `compact()` calls this compaction answers. */
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
  /** The snapshot is on disk (or failed: `error`); the next drain finishes the compaction. */
  written: boolean;
  error: unknown;
  /** Resolves once the snapshot is on disk or failed (the next drain is kicked then). */
  settled: Promise<void>;
}

/** Writes all of `buffer` at the file's position (a write may take less than asked). */
async function writeAll(file: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await file.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}

function journalText<R>(spec: JournalSpec<R>, lines: readonly string[]): string {
  const header =
    spec.kind === null ? [] : [JSON.stringify({ journal: spec.kind, version: spec.version ?? 1 })];
  const all = [...header, ...lines];
  return all.length === 0 ? '' : `${all.join('\n')}\n`;
}
