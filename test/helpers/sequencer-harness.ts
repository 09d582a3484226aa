import type { StreamPosition } from '../../lib/port/stream.js';
import { LiveSequencer, type NumberedEnvelope, type StreamRead } from '../../lib/recovery/sequencer.js';

/** A live event of channel `c` at `epoch`:`offset`. */
export const ev = (epoch: string, offset: number): NumberedEnvelope => ({
  channels: ['c'],
  event: 'E',
  data: offset,
  position: { epoch, offset },
});

/** A sequencer whose stream reads the test answers by hand; records what it delivers and reports. */
export function sequencerHarness() {
  const out: string[] = [];
  const reads: Array<{ after: StreamPosition; answer(read: StreamRead | Error): Promise<void> }> = [];
  const seq = new LiveSequencer({
    deliver: (e) => out.push(`${e.position.epoch}:${e.position.offset}`),
    lost: (channel) => out.push(`lost ${channel}`),
    read: (_channel, after) =>
      new Promise<StreamRead>((resolve, reject) => {
        reads.push({
          after,
          answer: async (r) => {
            if (r instanceof Error) reject(r);
            else resolve(r);
            // Let the sequencer's continuation run.
            await new Promise((done) => setImmediate(done));
          },
        });
      }),
  });
  const range = (epoch: string, from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ev(epoch, from + i));
  return { seq, out, reads, range };
}
