import type { EventEnvelope } from './envelope.ts';
import { EnvelopeDataMissingError } from './errors.ts';
import type { RawArchive } from './ports.ts';

/**
 * The payload of an envelope: `data`, or for a claim-check envelope (`dataref`, sent when the
 * payload did not fit one SQS message) the archived raw body parsed as JSON. Workers call this
 * before matching rules.
 *
 * @throws EnvelopeDataMissingError when the archived body is gone or not JSON
 * @throws ArchiveError when the archive cannot be read (retry: the message stays queued)
 * @example
 * const data = await envelopeData(envelope, archive);
 */
export async function envelopeData(
  envelope: EventEnvelope,
  archive: Pick<RawArchive, 'get'>,
): Promise<unknown> {
  if (envelope.dataref === undefined) return envelope.data;
  const body = await archive.get(envelope.dataref);
  if (body === undefined) {
    throw new EnvelopeDataMissingError(
      `event ${envelope.id} refers to archive key ${envelope.dataref}, which does not exist`,
    );
  }
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch (error) {
    throw new EnvelopeDataMissingError(
      `event ${envelope.id}: archived body ${envelope.dataref} is not JSON`,
      { cause: error },
    );
  }
}
