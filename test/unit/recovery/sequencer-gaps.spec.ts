import { describe, expect, it } from '@jest/globals';
import type { BroadcastEnvelope } from '../../../lib/port/envelope.js';
import { gapRead } from '../../../lib/recovery/sequencer.js';
import { ev, sequencerHarness as setup } from '../../helpers/sequencer-harness.js';

describe('gapRead (a driver turns what its store held after a position into a gap read)', () => {
  const stored = (...offsets: number[]) =>
    offsets.map((offset) => ({ offset, envelope: { channels: ['x'], event: 'E', data: offset } as BroadcastEnvelope }));
  const after = { epoch: 'e', offset: 2 };

  it('numbers the stored events in the epoch read, for the channel asked, complete when they are all there', () => {
    expect(gapRead('c', after, { epoch: 'e', offset: 4 }, stored(3, 4))).toEqual({
      complete: true,
      events: [
        { channels: ['c'], event: 'E', data: 3, position: { epoch: 'e', offset: 3 } },
        { channels: ['c'], event: 'E', data: 4, position: { epoch: 'e', offset: 4 } },
      ],
    });
  });

  it('is complete with nothing stored when nothing came after', () => {
    expect(gapRead('c', after, { epoch: 'e', offset: 2 }, [])).toEqual({ complete: true, events: [] });
  });

  it('is incomplete in another epoch, with an event missing, or without the first one', () => {
    expect(gapRead('c', after, { epoch: 'f', offset: 4 }, stored(3, 4)).complete).toBe(false);
    expect(gapRead('c', after, { epoch: 'e', offset: 5 }, stored(3, 4)).complete).toBe(false);
    expect(gapRead('c', after, { epoch: 'e', offset: 4 }, []).complete).toBe(false);
    // Two events, as many as the gap, but 3 is gone (trimmed) and 5 came after the position was read.
    expect(gapRead('c', after, { epoch: 'e', offset: 4 }, stored(4, 5)).complete).toBe(false);
  });
});

describe('LiveSequencer boundaries', () => {
  it('drops a repeat of the very first event it saw', () => {
    const { seq, out } = setup();
    seq.accept('c', ev('e', 5));
    seq.accept('c', ev('e', 5));
    seq.accept('c', ev('e', 4));
    expect(out).toEqual(['e:5']);
  });

  it('fills the gap after a subscriber position before the first live event after it', async () => {
    const { seq, out, reads } = setup();
    seq.baseline('c', { epoch: 'e', offset: 5 }, 0);
    seq.accept('c', ev('e', 8));
    expect(out).toEqual([]);
    expect(reads.map((r) => r.after)).toEqual([{ epoch: 'e', offset: 5 }]);
    await reads[0].answer({ complete: true, events: [ev('e', 6), ev('e', 7), ev('e', 8)] });
    expect(out).toEqual(['e:6', 'e:7', 'e:8']);
  });

  it('keeps a subscriber position while its gap is read: another baseline does not move it', async () => {
    const { seq, out, reads } = setup();
    seq.baseline('c', { epoch: 'e', offset: 5 }, 0);
    seq.accept('c', ev('e', 8));
    seq.baseline('c', { epoch: 'e', offset: 3 }, 0);
    await reads[0].answer({ complete: true, events: [ev('e', 6), ev('e', 7), ev('e', 8)] });
    expect(out).toEqual(['e:6', 'e:7', 'e:8']);
    expect(reads).toHaveLength(1);
  });

  it('follows only a lower position of the same epoch', () => {
    const { seq, out, reads } = setup();
    seq.baseline('c', { epoch: 'e', offset: 5 }, 0);
    // Another epoch (a subscriber read before the stream expired): not this track.
    seq.baseline('c', { epoch: 'f', offset: 3 }, 0);
    // A higher position: the one behind still counts.
    seq.baseline('c', { epoch: 'e', offset: 7 }, 0);
    // 8 is a gap after 5 (not the next after 7, nor after 3).
    seq.accept('c', ev('e', 8));
    expect(out).toEqual([]);
    expect(reads.map((r) => r.after)).toEqual([{ epoch: 'e', offset: 5 }]);
  });

  it('keeps the generation of the subscribe that started first (the lowest), at the same position too', () => {
    const { seq, out } = setup();
    seq.generation = 1;
    seq.baseline('c', { epoch: 'e', offset: 5 }, 1);
    seq.baseline('c', { epoch: 'e', offset: 3 }, 0);
    // The connection may have dropped since the older subscribe: a new epoch is reported.
    seq.accept('c', ev('f', 1));
    expect(out).toEqual(['lost c', 'f:1']);

    const other = setup();
    other.seq.generation = 1;
    other.seq.baseline('c', { epoch: 'e', offset: 3 }, 1);
    // The same position again, from an older subscribe: the track is not moved, its generation neither.
    other.seq.baseline('c', { epoch: 'e', offset: 3 }, 0);
    other.seq.accept('c', ev('f', 1));
    expect(other.out).toEqual(['f:1']);
  });

  it('leaves a known track alone when a subscriber joins without a position', () => {
    const { seq, out } = setup();
    seq.accept('c', ev('e', 1));
    seq.unknown('c');
    seq.accept('c', ev('e', 2));
    expect(out).toEqual(['e:1', 'e:2']);
  });

  it('delivers from a complete read only the events that follow, in the track epoch', async () => {
    const { seq, out, reads } = setup();
    seq.accept('c', ev('e', 1));
    seq.accept('c', ev('e', 4));
    // The read repeats 1 and carries an event of another epoch numbered like the next one.
    await reads[0].answer({ complete: true, events: [ev('e', 1), ev('e', 2), ev('x', 3), ev('e', 3), ev('e', 4)] });
    expect(out).toEqual(['e:1', 'e:2', 'e:3', 'e:4']);
    expect(reads).toHaveLength(1);
  });

  it('keeps the held events that come after a second gap in order, each once', async () => {
    const { seq, out, reads } = setup();
    seq.accept('c', ev('e', 1));
    seq.accept('c', ev('e', 3));
    seq.accept('c', ev('e', 4));
    // The stream expired meanwhile, its tail seen: f:2 opens a gap of the new epoch behind the first.
    seq.accept('c', ev('f', 2));
    await reads[0].answer({ complete: true, events: [ev('e', 2), ev('e', 3)] });
    expect(out).toEqual(['e:1', 'e:2', 'e:3', 'e:4']);
    expect(reads.map((r) => r.after)).toEqual([
      { epoch: 'e', offset: 1 },
      { epoch: 'f', offset: 0 },
    ]);
    await reads[1].answer({ complete: true, events: [ev('f', 1), ev('f', 2)] });
    // The events before the second gap are not taken again (they would look like another epoch change).
    expect(out).toEqual(['e:1', 'e:2', 'e:3', 'e:4', 'f:1', 'f:2']);
    expect(reads).toHaveLength(2);
  });
});
