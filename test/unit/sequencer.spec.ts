import { describe, expect, it } from '@jest/globals';
import { ev, sequencerHarness as setup } from '../helpers/sequencer-harness.js';

describe('LiveSequencer (a node keeps live events of recovery channels gap-free)', () => {
  it('delivers consecutive offsets at once and drops what it already delivered', () => {
    const { seq, out, reads } = setup();
    for (const o of [1, 2, 3, 2, 3, 4]) seq.accept('c', ev('e', o));
    expect(out).toEqual(['e:1', 'e:2', 'e:3', 'e:4']);
    expect(reads).toHaveLength(0);
  });

  it('fills a gap from the stream before the live events held meanwhile, in order, once', async () => {
    const { seq, out, reads, range } = setup();
    seq.accept('c', ev('e', 1));
    seq.accept('c', ev('e', 5));
    seq.accept('c', ev('e', 6));
    expect(out).toEqual(['e:1']);
    expect(reads.map((r) => r.after)).toEqual([{ epoch: 'e', offset: 1 }]);
    // The read also finds 6 and 7 (published after 5): they are not delivered twice.
    await reads[0].answer({ complete: true, events: range('e', 2, 7) });
    seq.accept('c', ev('e', 7));
    seq.accept('c', ev('e', 8));
    expect(out).toEqual(['e:1', 'e:2', 'e:3', 'e:4', 'e:5', 'e:6', 'e:7', 'e:8']);
  });

  it('reports a gap that is no longer held (or unreadable), then goes on with the live events', async () => {
    const { seq, out, reads } = setup();
    seq.accept('c', ev('e', 1));
    seq.accept('c', ev('e', 9));
    seq.accept('c', ev('e', 10));
    await reads[0].answer({ complete: false, events: [] });
    expect(out).toEqual(['e:1', 'lost c', 'e:9', 'e:10']);
    seq.accept('c', ev('e', 12));
    await reads[1].answer(new Error('Redis is down'));
    expect(out.slice(4)).toEqual(['lost c', 'e:12']);
  });

  it('handles a second gap among the held events behind the first', async () => {
    const { seq, out, reads, range } = setup();
    seq.accept('c', ev('e', 1));
    seq.accept('c', ev('e', 3));
    await reads[0].answer({ complete: true, events: range('e', 2, 3) });
    seq.accept('c', ev('e', 6));
    seq.accept('c', ev('e', 9));
    seq.accept('c', ev('e', 10));
    await reads[1].answer({ complete: true, events: range('e', 4, 6) });
    expect(reads[2].after).toEqual({ epoch: 'e', offset: 6 });
    seq.accept('c', ev('e', 11));
    await reads[2].answer({ complete: true, events: range('e', 7, 9) });
    expect(out).toEqual(range('e', 1, 11).map((e) => `e:${e.position.offset}`));
  });

  it('takes a new epoch quietly while its connection stayed up, and reports it after a drop', () => {
    const { seq, out } = setup();
    seq.accept('c', ev('e', 3));
    seq.accept('c', ev('f', 1));
    expect(out).toEqual(['e:3', 'f:1']);
    seq.generation++;
    seq.accept('c', ev('g', 1));
    expect(out).toEqual(['e:3', 'f:1', 'lost c', 'g:1']);
    // Same epoch after a drop: the offsets tell, nothing is reported.
    seq.generation++;
    seq.accept('c', ev('g', 2));
    expect(out.slice(4)).toEqual(['g:2']);
  });

  it('never vouches for a subscriber that joined without a position (Redis unreachable)', () => {
    const { seq, out } = setup();
    seq.unknown('c');
    seq.accept('c', ev('e', 7));
    seq.accept('c', ev('e', 8));
    expect(out).toEqual(['lost c', 'e:7', 'e:8']);
  });

  it('follows a subscriber position: a gap after it is filled, events up to it still pass', async () => {
    const { seq, out, reads, range } = setup();
    // Two subscribes under way: the furthest behind counts.
    seq.baseline('c', { epoch: 'e', offset: 5 }, 0);
    seq.baseline('c', { epoch: 'e', offset: 3 }, 0);
    // 3 was read before 4 arrived: not a duplicate (nothing was delivered yet).
    seq.accept('c', ev('e', 3));
    seq.accept('c', ev('e', 4));
    seq.accept('c', ev('e', 4));
    expect(out).toEqual(['e:3', 'e:4']);
    seq.accept('c', ev('e', 7));
    await reads[0].answer({ complete: true, events: range('e', 5, 7) });
    expect(out).toEqual(['e:3', 'e:4', 'e:5', 'e:6', 'e:7']);
    // A later subscriber's position does not move a track that delivers.
    seq.baseline('c', { epoch: 'e', offset: 1 }, 0);
    seq.accept('c', ev('e', 2));
    expect(out).toHaveLength(5);
  });

  it('drops a read that comes back after the node left the channel', async () => {
    const { seq, out, reads, range } = setup();
    seq.accept('c', ev('e', 1));
    seq.accept('c', ev('e', 3));
    seq.forget('c');
    await reads[0].answer({ complete: true, events: range('e', 2, 3) });
    expect(out).toEqual(['e:1']);
    seq.accept('c', ev('e', 9));
    expect(out).toEqual(['e:1', 'e:9']);
  });
});
