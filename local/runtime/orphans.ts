/**
 * DynamoDB Local left running by a local mode that died without stopping it (kill -9, a crash):
 * found by its command line, which names the database directory (`-dbPath <dir>`), and stopped
 * before a new one starts on the same directory (two would corrupt it). Only a process whose
 * command line runs DynamoDBLocal.jar on exactly this directory is ever touched.
 */
import { realpath } from 'node:fs/promises';
import { listProcesses, type ProcessInfo, stopProcess } from './processes.ts';

/** Whether a command line is DynamoDB Local on one of these database directories. */
export function isDynamoDbLocalOn(info: ProcessInfo, dbPaths: readonly string[]): boolean {
  const jar = info.argv.some((arg) => arg.endsWith('DynamoDBLocal.jar'));
  if (!jar) return false;
  if (process.platform === 'linux') {
    const at = info.argv.indexOf('-dbPath');
    return at >= 0 && dbPaths.includes(info.argv[at + 1] ?? '');
  }
  // `ps` gives one string: the path must follow -dbPath and end at a space or the end
  return dbPaths.some((path) => {
    const needle = ` -dbPath ${path}`;
    const at = info.command.indexOf(needle);
    const next = info.command[at + needle.length];
    return at >= 0 && (next === undefined || next === ' ');
  });
}

/** The DynamoDB Local processes running on `dbPath` (by its path or its real path). */
export async function findDynamoDbLocal(dbPath: string): Promise<ProcessInfo[]> {
  const paths = [dbPath];
  const real = await realpath(dbPath).catch(() => dbPath);
  if (real !== dbPath) paths.push(real);
  return (await listProcesses()).filter(
    (info) => info.pid !== process.pid && isDynamoDbLocalOn(info, paths),
  );
}

export interface StoppedOrphan {
  pid: number;
  outcome: 'terminated' | 'killed' | 'gone';
}

/**
 * Stops every DynamoDB Local on `dbPath`. Call it only while holding the data directory's lock:
 * then no live local mode owns such a process, so each one is an orphan.
 */
export async function stopOrphanedDynamoDbLocal(dbPath: string): Promise<StoppedOrphan[]> {
  const stopped: StoppedOrphan[] = [];
  for (const orphan of await findDynamoDbLocal(dbPath)) {
    stopped.push({ pid: orphan.pid, outcome: await stopProcess(orphan.pid) });
  }
  return stopped;
}
