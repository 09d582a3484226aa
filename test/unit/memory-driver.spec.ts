import { describe, expect, it } from '@jest/globals';
import { type BroadcastEnvelope, MemoryDriver } from 'nestjs-broadcasting';

/** A driver holding what BroadcastService would have published. */
function recorded(...envelopes: Array<Partial<BroadcastEnvelope>>): MemoryDriver {
  const memory = new MemoryDriver();
  for (const e of envelopes) memory.publish({ channels: [], event: '', ...e });
  return memory;
}

const shipped = { channels: ['private-orders.1'], event: 'OrderShipped' };

describe('MemoryDriver: data matches partially unless exact', () => {
  it('matches object data partially, as docs/drivers.md shows it', () => {
    const memory = recorded({ ...shipped, data: { id: '1', shipped: true } });
    const asInTheDocs = { event: 'OrderShipped', channel: 'private-orders.1', data: { id: '1' } };
    expect(memory.assertSent(asInTheDocs)).toHaveLength(1);
    expect(memory.assertSent({ event: 'OrderShipped', data: {} })).toHaveLength(1);
    expect(memory.sent({ event: 'OrderShipped', data: { id: '2' } })).toEqual([]);
    expect(memory.sent({ event: 'OrderShipped', data: { id: 1 } })).toEqual([]); // strict: '1' is not 1
    expect(memory.sent({ event: 'OrderShipped', data: { id: '1', missing: undefined } })).toEqual([]);
  });

  it('recurses into nested objects partially, and into arrays element by element with equal length', () => {
    const memory = recorded({
      ...shipped,
      data: {
        order: { id: '1', customer: { id: 7, name: 'Ada' } },
        lines: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 2 },
        ],
        tags: ['x', 'y'],
      },
    });
    expect(memory.assertSent({ data: { order: { customer: { id: 7 } } } })).toHaveLength(1);
    expect(memory.assertSent({ data: { lines: [{ sku: 'a' }, { qty: 2 }] } })).toHaveLength(1);
    expect(memory.assertSent({ data: { tags: ['x', 'y'] } })).toHaveLength(1);
    expect(memory.sent({ data: { tags: ['x'] } })).toEqual([]); // arrays: same length
    expect(memory.sent({ data: { lines: [{ sku: 'b' }, { sku: 'a' }] } })).toEqual([]); // arrays: in order
    expect(memory.sent({ data: { order: { customer: { id: '7' } } } })).toEqual([]);
    expect(memory.sent({ data: { order: 'x' } })).toEqual([]);
    expect(memory.sent({ data: { tags: { 0: 'x', 1: 'y' } } })).toEqual([]); // an object is not an array
  });

  it('compares primitives, arrays at the top and raw payloads as they are', () => {
    const memory = recorded(
      { channels: ['n'], event: 'Count', data: 3 },
      { channels: ['n'], event: 'Null', data: null },
      { channels: ['n'], event: 'List', data: [1, { a: 1, b: 2 }] },
      { kind: 'raw', socketIds: ['1.1'], raw: 'plain text' },
      { kind: 'raw', socketIds: ['1.1'], binary: Buffer.from([1, 2, 3]).toString('base64') },
    );
    expect(memory.assertSent({ event: 'Count', data: 3 })).toHaveLength(1);
    expect(memory.sent({ event: 'Count', data: '3' })).toEqual([]);
    expect(memory.assertSent({ event: 'Null', data: null })).toHaveLength(1);
    expect(memory.sent({ event: 'Null', data: {} })).toEqual([]);
    expect(memory.assertSent({ event: 'List', data: [1, { a: 1 }] })).toHaveLength(1);
    expect(memory.assertSent({ socketId: '1.1', data: 'plain text' })).toHaveLength(1);
    expect(memory.assertSent({ socketId: '1.1', data: (d) => Buffer.isBuffer(d) && d.length === 3 })).toHaveLength(1);
  });

  it('with exact: true, data must equal deeply, with no extra key at any depth', () => {
    const memory = recorded({ ...shipped, data: { id: '1', shipped: true, meta: { by: 'a', at: 1 } } });
    memory.assertNotSent({ event: 'OrderShipped', data: { id: '1' }, exact: true });
    memory.assertNotSent({ data: { id: '1', shipped: true, meta: { by: 'a' } }, exact: true });
    memory.assertSent({ data: { id: '1', shipped: true, meta: { by: 'a', at: 1 } }, exact: true }, 1);
    expect(() => memory.assertSent({ data: { id: '1' }, exact: true })).toThrow(/data=\{"id":"1"\}, exact=true/);
  });

  it('keeps predicates: they decide alone', () => {
    const memory = recorded({ ...shipped, data: { id: '1', total: 250 } });
    expect(memory.assertSent({ data: (d) => (d as { total: number }).total > 100 })).toHaveLength(1);
    expect(memory.sent({ data: (d) => (d as { total: number }).total > 1000 })).toEqual([]);
  });
});

describe('MemoryDriver failure messages list each recorded broadcast with its data', () => {
  const long = { text: 'x'.repeat(500) };
  const memory = recorded(
    { ...shipped, data: { id: '1', shipped: true } },
    { channels: ['news'], event: 'Long', data: long },
    { kind: 'raw', socketIds: ['1.2'], binary: Buffer.alloc(5).toString('base64') },
    { kind: 'raw', socketIds: ['1.2'], raw: 'hello' },
    { userIds: ['7'], event: 'Reminder', data: null },
  );
  const lines = [
    '  - OrderShipped → private-orders.1 {"id":"1","shipped":true}',
    '  - (raw) → socket 1.2 <5 bytes>',
    '  - (raw) → socket 1.2 "hello"',
    '  - Reminder → user 7 null',
  ];
  const cut = `  - Long → news ${JSON.stringify(long).slice(0, 200)}…\n`;

  it.each([
    ['assertSent', () => memory.assertSent({ event: 'OrderShipped', data: { id: '2' } })],
    ['assertNotSent', () => memory.assertNotSent('OrderShipped')],
    ['assertNothingSent', () => memory.assertNothingSent()],
  ])('%s', (_, fail) => {
    let message = '';
    try {
      fail();
    } catch (err) {
      message = (err as Error).message;
    }
    for (const line of lines) expect(message).toContain(`${line}\n`.trimEnd());
    expect(`${message}\n`).toContain(cut);
    expect(message).not.toContain('x'.repeat(201));
  });

  it('waitFor, when it times out', async () => {
    await expect(memory.waitFor({ event: 'OrderShipped', data: { id: '2' } }, 20)).rejects.toThrow(
      /no broadcast matching event="OrderShipped", data=\{"id":"2"\} within 20 ms\. Recorded:\n {2}- OrderShipped → private-orders\.1 \{"id":"1","shipped":true\}/,
    );
  });
});
