import { describe, expect, it } from '@jest/globals';
import type { Outbound } from '../../../lib/core/client.js';
import { fanout } from '../../../lib/core/fanout.js';
import { drop, hold, pass, stopsAtGate } from '../../../lib/core/gates.js';
import { FakeClient } from '../../helpers/fake-client.js';

const event = (channel: string, offset?: number, epoch = 'E', json = '{"n":1}'): Outbound => {
  const m: Outbound = { kind: 'event', channel, event: 'e', json };
  if (offset !== undefined) m.position = { epoch, offset };
  return m;
};

/** Whether `m` stops at the client's gate of its channel (false without gates, as the fan-out asks). */
const stops = (c: FakeClient, m: Outbound) => (c.gates ? stopsAtGate(c, c.gates, m) : false);

describe('gates: holding', () => {
  it('holds the channel’s live events in order and counts their bytes (JSON, raw and event name)', () => {
    const c = new FakeClient('1.1');
    const gate = hold(c, 'orders', 0);
    expect(c.gates?.get('orders')).toBe(gate);
    expect(gate).toEqual({ held: [], heldBytes: 0, maxHeld: 0 });
    const m1 = event('orders'); // 7 + 1
    const m2: Outbound = { kind: 'event', channel: 'orders', event: 'placed', json: '"ab"', raw: 'ab' }; // 4 + 2 + 6
    const member: Outbound = { kind: 'member_added', channel: 'orders', event: '', json: 'null', userId: 'u' }; // 4
    expect(stops(c, m1)).toBe(true);
    expect(stops(c, m2)).toBe(true);
    expect(stops(c, member)).toBe(true);
    expect(gate.held).toEqual([m1, m2, member]);
    expect(gate.heldBytes).toBe(8 + 12 + 4);
    // Other channels have no gate: they pass.
    expect(stops(c, event('trades'))).toBe(false);
  });

  it('keeps the gate (and what it holds) when asked to hold again', () => {
    const c = new FakeClient('1.1');
    const gate = hold(c, 'orders', 100);
    stops(c, event('orders'));
    expect(hold(c, 'orders', 5)).toBe(gate);
    expect(gate.held).toHaveLength(1);
    expect(gate.maxHeld).toBe(100);
    // After the gate let its events go (a floor remains), holding again starts a new list.
    pass(c, 'orders', { epoch: 'E', offset: 3 });
    expect(hold(c, 'orders', 100)).toBe(gate);
    expect(gate.held).toEqual([]);
    expect(gate.floor).toEqual({ epoch: 'E', offset: 3 });
  });

  it('overflows past maxHeld: what it held is let go, and everything after stops there uncounted', () => {
    const c = new FakeClient('1.1');
    const gate = hold(c, 'orders', 16);
    const m = event('orders'); // 8 bytes
    expect(stops(c, m)).toBe(true);
    expect(stops(c, m)).toBe(true);
    expect(gate.heldBytes).toBe(16); // at maxHeld: still held
    expect(gate.overflow).toBeUndefined();
    expect(gate.held).toHaveLength(2);
    expect(stops(c, m)).toBe(true);
    expect(gate.overflow).toBe(true);
    expect(gate.held).toEqual([]);
    expect(gate.heldBytes).toBe(24);
    expect(stops(c, m)).toBe(true);
    expect(gate.held).toEqual([]);
    expect(gate.heldBytes).toBe(24);
  });

  it('holds without limit with maxHeld 0', () => {
    const c = new FakeClient('1.1');
    const gate = hold(c, 'orders', 0);
    const big = event('orders', undefined, 'E', `"${'x'.repeat(1 << 20)}"`);
    for (let i = 0; i < 8; i++) stops(c, big);
    expect(gate.held).toHaveLength(8);
    expect(gate.overflow).toBeUndefined();
  });
});

describe('gates: the floor', () => {
  it('drops events at or below the floor of the same epoch, and goes once the live stream passes it', () => {
    const c = new FakeClient('1.1');
    const gate = hold(c, 'rec', 0);
    stops(c, event('rec', 4));
    pass(c, 'rec', { epoch: 'E', offset: 5 });
    expect(gate.held).toBeUndefined();
    expect(gate.heldBytes).toBe(0);
    expect(gate.floor).toEqual({ epoch: 'E', offset: 5 });
    expect(stops(c, event('rec', 3))).toBe(true);
    expect(stops(c, event('rec', 5))).toBe(true);
    // Events without a position (whispers, member events) pass, and leave the floor in place.
    expect(stops(c, { kind: 'whisper', channel: 'rec', event: 'typing', json: '{}' })).toBe(false);
    expect(c.gates?.get('rec')).toBe(gate);
    expect(stops(c, event('rec', 6))).toBe(false);
    expect(c.gates).toBeUndefined();
    expect(stops(c, event('rec', 2))).toBe(false); // no check any more
  });

  it('passes an event of another epoch, and the gate goes', () => {
    const c = new FakeClient('1.1');
    hold(c, 'rec', 0);
    pass(c, 'rec', { epoch: 'E', offset: 5 });
    expect(stops(c, event('rec', 1, 'F'))).toBe(false);
    expect(c.gates).toBeUndefined();
  });

  it('forgets a channel’s gate only: the client keeps its other gates', () => {
    const c = new FakeClient('1.1');
    hold(c, 'rec', 0);
    hold(c, 'orders', 0);
    pass(c, 'rec', { epoch: 'E', offset: 1 });
    expect(stops(c, event('rec', 2))).toBe(false);
    expect([...(c.gates?.keys() ?? [])]).toEqual(['orders']);
  });

  it('goes when passed without a floor, and on drop; client.gates goes with the last one', () => {
    const c = new FakeClient('1.1');
    hold(c, 'a', 0);
    hold(c, 'b', 0);
    pass(c, 'a', undefined);
    expect([...(c.gates?.keys() ?? [])]).toEqual(['b']);
    drop(c, 'b');
    expect(c.gates).toBeUndefined();
    drop(c, 'b'); // nothing to drop
    pass(c, 'b', { epoch: 'E', offset: 1 }); // nor to pass
    expect(c.gates).toBeUndefined();
  });
});

describe('gates in the fan-out', () => {
  it('skips a gated recipient (held, not written, not counted) and never gates a direct message', () => {
    const gated = new FakeClient('1.1');
    const open = new FakeClient('1.2');
    hold(gated, 'orders', 0);
    const counter = { frames: [0, 0], bytes: [0, 0] };
    expect(fanout([gated, open], event('orders'), undefined, counter)).toBe(1);
    expect(gated.written).toEqual([]);
    expect(gated.gates?.get('orders')?.held).toHaveLength(1);
    expect(open.written).toHaveLength(1);
    expect(counter.frames).toEqual([1, 0]);
    const direct: Outbound = { kind: 'event', event: 'hello', json: '1' };
    expect(fanout([gated, open], direct)).toBe(2);
    expect(gated.written).toHaveLength(1);
    expect(gated.gates?.get('orders')?.held).toHaveLength(1);
  });
});
