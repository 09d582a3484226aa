import { describe, expect, it } from '@jest/globals';
import { idLine, parseLastEventId, sseClosed, sseMessage } from '../../lib/sse/sse-frames.js';

/** What an EventSource makes of one message: its data lines joined with \n. */
const read = (message: string) =>
  message
    .slice(0, -2)
    .split('\n')
    .map((line) => line.replace(/^data: /, ''))
    .join('\n');

describe('SSE frames', () => {
  it('writes a frame as one message, and splits every kind of line break over data lines', () => {
    expect(sseMessage('{"type":"pong"}')).toBe('data: {"type":"pong"}\n\n');
    const text = 'line 1\nline 2\r\nline 3\rline 4';
    const message = sseMessage(text);
    expect(message).toBe('data: line 1\ndata: line 2\ndata: line 3\ndata: line 4\n\n');
    expect(read(message)).toBe('line 1\nline 2\nline 3\nline 4');
    expect(sseMessage('{\n  "a": 1\n}')).toBe('data: {\ndata:   "a": 1\ndata: }\n\n');
  });

  it('says why a stream ends as a closed frame, its reason escaped', () => {
    expect(JSON.parse(sseClosed(4100, 'too "slow"\n'))).toEqual({ type: 'closed', code: 4100, reason: 'too "slow"\n' });
  });

  it('writes the id line that parseLastEventId reads back', () => {
    const positions = new Map([
      ['orders', { epoch: 'e1', offset: 42 }],
      ['feed', { epoch: 'e2', offset: 0 }],
    ]);
    const line = idLine(positions);
    expect(line).toBe('id: [["orders","e1",42],["feed","e2",0]]\n');
    expect(parseLastEventId(line.slice(4, -1), 10)).toEqual(positions);
  });

  it('ignores any Last-Event-ID it did not write', () => {
    for (const value of [
      undefined,
      '',
      'not json',
      '{}',
      '[]',
      '[["orders","e1"]]',
      '[["orders","e1",-1]]',
      '[["orders","e1",1.5]]',
      '[["orders","",1]]',
      '[["bad channel","e1",1]]',
      '[["#reserved","e1",1]]',
      `[["orders","${'e'.repeat(65)}",1]]`,
      '[["orders","e1",1],["feed","e2",2],["x","e3",3]]', // more than maxEntries (2)
      `[["orders","e1",1]${' '.repeat(16_400)}]`,
    ]) {
      expect([value?.slice(0, 40), parseLastEventId(value, 2)]).toEqual([value?.slice(0, 40), undefined]);
    }
  });
});
