/**
 * How local mode keeps its data files: atomic whole-file writes, append-only journals with
 * group commit and compaction, and salvage of damaged files (kept aside, never deleted; every
 * record that still parses is kept, and a report says how many were kept and lost). Every
 * persisted file of local mode goes through here. See docs/local.md ("Damaged data files").
 */
export {
  syncDirectory,
  type WriteFileAtomicOptions,
  writeFileAtomic,
} from '../../shared/files.ts';
export { type DocumentSpec, type LoadedDocument, loadDocument } from './document.ts';
export { DATA_FILE_ERROR_CODES, DataFileError, type DataFileErrorCode } from './errors.ts';
export {
  type Journal,
  type JournalSpec,
  type JournalStats,
  type JournalWriterOptions,
  type LoadedJournal,
  loadJournal,
  openJournal,
} from './journal.ts';
export { keepAside } from './keep-aside.ts';
export {
  countOccurrences,
  type PartialJson,
  parsePartialJson,
  type SalvageReport,
  scanObjects,
} from './salvage.ts';
