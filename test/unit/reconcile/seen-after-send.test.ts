/**
 * The receiver's seen markers (markSeenAfterSend) with group commit: markers of sends made
 * together share one write, a marker is only written once its event is queued, and a failed
 * write is reported for each of its events without failing their sends.
 */
import { describe, expect, test } from 'vitest';
import { createEnvelope, memoryEventQueue } from '../../../shared/events/index.ts';
import { markSeenAfterSend, type SeenMark } from '../../../shared/reconcile/index.ts';

const envelope = (subjectId: string) =>
  createEnvelope({
    orgId: 'org1',
    type: 'task.completed',
    subjectId,
    occurredAt: '2026-11-19T10:42:13Z',
    receivedAtMs: Date.parse('2026-11-19T10:42:14Z'),
    origin: 'webhook',
    data: { this_task: { id: subjectId } },
  });

/** A marker store that records each write and fails the ones the test names. */
function recordingSeen() {
  const writes: string[][] = [];
  let failNext = 0;
  return {
    writes,
    failNextWrite() {
      failNext += 1;
    },
    async markSeen(marks: readonly SeenMark[]) {
      writes.push(marks.map((m) => m.dedupeKey));
      await new Promise((resolve) => setImmediate(resolve));
      if (failNext > 0) {
        failNext -= 1;
        throw new Error('DynamoDB unavailable');
      }
    },
  };
}

describe('seen markers after send, with group commit', () => {
  test('markers of sends made together share one write; a lone send writes its own', async () => {
    const queue = memoryEventQueue();
    const seen = recordingSeen();
    const marked = markSeenAfterSend(queue, seen, { groupCommit: { maxInFlight: 1 } });
    await marked.send(envelope('t0'));
    expect(seen.writes).toEqual([[envelope('t0').id]]);

    const envelopes = Array.from({ length: 30 }, (_, i) => envelope(`t${i + 1}`));
    await Promise.all(envelopes.map((e) => marked.send(e)));
    // the first marker goes at once; the 29 waiting behind it go as 25 + 4
    expect(seen.writes.slice(1).map((w) => w.length)).toEqual([1, 25, 4]);
    expect(seen.writes.slice(1).flat()).toEqual(envelopes.map((e) => e.id));
    expect(queue.messages).toHaveLength(31);
  });

  test('a failed marker write is reported for each of its events; the sends resolve', async () => {
    const queue = memoryEventQueue();
    const seen = recordingSeen();
    const reported: string[] = [];
    const marked = markSeenAfterSend(queue, seen, {
      groupCommit: { maxInFlight: 1 },
      onMarkError: (_error, ids) => reported.push(...ids),
    });
    seen.failNextWrite();
    const envelopes = ['a', 'b', 'c'].map(envelope);
    await Promise.all(envelopes.map((e) => marked.send(e)));
    expect(reported).toEqual([envelopes[0]?.id]);
    expect(queue.messages).toHaveLength(3);
  });

  test('no marker for an event the queue did not store', async () => {
    const seen = recordingSeen();
    const marked = markSeenAfterSend(
      {
        send: async () => {
          throw new Error('SQS unavailable');
        },
      },
      seen,
      { groupCommit: { maxInFlight: 1 } },
    );
    await expect(marked.send(envelope('lost'))).rejects.toThrow('SQS unavailable');
    expect(seen.writes).toEqual([]);
  });
});
