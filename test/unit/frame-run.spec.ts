import { describe, expect, it } from '@jest/globals';
import * as wsModule from 'ws';
import type { SharedFrame } from '../../lib/core/client.js';
import { continues, frameText, runBytes } from '../../lib/gateway/frame-run.js';
import { until } from '../helpers/until.js';
import { wsPairs } from '../helpers/ws-pairs.js';

/** Links frames in order, as the first connection to write them does. */
function linked(texts: string[]): SharedFrame[] {
  const frames: SharedFrame[] = texts.map((text) => ({ text }));
  for (let i = 1; i < frames.length; i++) expect(continues(frames[i - 1], frames[i])).toBe(true);
  return frames;
}

const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};
/** How ws itself frames a server's text message: the reference. */
const wsFrame = (text: string) =>
  Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));

describe('frame runs (the frames of a turn joined once)', () => {
  it('frames text exactly as ws does, at every length boundary and in UTF-8', () => {
    for (const text of [
      '',
      'hi',
      'x'.repeat(125),
      'x'.repeat(126),
      'é'.repeat(63),
      'é'.repeat(64),
      'y'.repeat(65535),
      'y'.repeat(65536),
      '€😀',
    ]) {
      expect(frameText(text).equals(wsFrame(text))).toBe(true);
    }
    expect([...frameText('hi')]).toEqual([0x81, 2, 0x68, 0x69]);
  });

  it('joins frames byte for byte as ws frames them, at every length boundary and in UTF-8', () => {
    const texts = ['a', 'x'.repeat(125), 'y'.repeat(126), 'é'.repeat(100), 'z'.repeat(65535), 'w'.repeat(65536), '€'];
    const frames = linked(texts);
    const joined = runBytes(frames[0], frames.length);
    expect(joined.equals(Buffer.concat(texts.map(wsFrame)))).toBe(true);
    // A shorter run from the same head is its prefix; frames already framed are copied as they are.
    frames[1].bytes = frameText(texts[1]);
    expect(runBytes(frames[0], 3).equals(Buffer.concat(texts.slice(0, 3).map(frameText)))).toBe(true);
  });

  it('makes a run once and shares it; a single frame is its own framing', () => {
    const frames = linked(['{"i":1}', '{"i":2}', '{"i":3}']);
    const first = runBytes(frames[0], 3);
    expect(runBytes(frames[0], 3)).toBe(first);
    const one = runBytes(frames[2], 1);
    expect(one).toBe(frames[2].bytes);
    expect(runBytes(frames[2], 1)).toBe(one); // framed once, then the same Buffer for every recipient
    expect(one.equals(frameText('{"i":3}'))).toBe(true);
  });

  it('keeps a link once made: another next frame starts another run', () => {
    const [a, b] = linked(['a', 'b']);
    const c: SharedFrame = { text: 'c' };
    expect(continues(a, c)).toBe(false);
    expect(a.next).toBe(b);
    expect(continues(a, b)).toBe(true);
  });

  it('gives each connection exactly its own frames, in order, when some were left out of an event', async () => {
    const { pairs, close } = await wsPairs(3);
    const [all, skipped, replied] = pairs;
    const f = [1, 2, 3, 4].map((i): SharedFrame => ({ text: `{"i":${i}}` }));
    for (const frame of f) {
      all.conn.write(frame);
      if (frame !== f[1]) skipped.conn.write(frame); // left out of event 2 (an `except`)
      replied.conn.write(frame);
      if (frame === f[1]) replied.conn.send('{"reply":2}');
    }
    await until(() => all.got.length === 4 && skipped.got.length === 3 && replied.got.length === 5);
    expect(all.got).toEqual(f.map((x) => x.text));
    expect(skipped.got).toEqual([f[0], f[2], f[3]].map((x) => x.text));
    expect(replied.got).toEqual([f[0].text, f[1].text, '{"reply":2}', f[2].text, f[3].text]);
    // One write per socket; the connection that got all four wrote them as one Buffer, the others
    // their runs (and the reply) in one writev.
    for (const p of pairs) expect(p.writes).toHaveLength(1);
    expect(all.writes[0]).toHaveLength(1);
    expect(all.writes[0][0].equals(Buffer.concat(f.map((x) => frameText(x.text))))).toBe(true);
    await close();
  });

  it('writes what a connection held before its close frame', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    const closed = new Promise<number>((resolve) => p.client.once('close', (code) => resolve(code)));
    p.conn.write({ text: '{"last":true}' });
    p.conn.end(4000, 'bye');
    expect(await closed).toBe(4000);
    expect(p.got).toEqual(['{"last":true}']);
    await close();
  });
});
