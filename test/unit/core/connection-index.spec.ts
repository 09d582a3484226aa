import { describe, expect, it } from '@jest/globals';
import type { Client } from '../../../lib/core/client.js';
import { ConnectionIndex } from '../../../lib/core/connection-index.js';
import { FakeClient } from '../../helpers/fake-client.js';

const ids = (clients: Iterable<Client>) => [...clients].map((c) => c.id);

describe('ConnectionIndex', () => {
  it('gives socket ids as Pusher SDKs require, `node.n`, each new, the first part this node', () => {
    const index = new ConnectionIndex();
    expect(index.nodeId).toMatch(/^[1-9]\d*$/);
    const made = Array.from({ length: 1000 }, () => index.nextSocketId());
    const shape = new RegExp(`^${index.nodeId}\\.[1-9]\\d*$`);
    expect(made.filter((id) => !shape.test(id))).toEqual([]);
    expect(new Set(made).size).toBe(1000);
    const counters = made.map((id) => Number(id.split('.')[1]));
    expect(counters.every((n, i) => i === 0 || n === counters[i - 1] + 1)).toBe(true);
    expect(new ConnectionIndex().nodeId).not.toBe(index.nodeId);
  });

  it('wraps its counter to 1 after Number.MAX_SAFE_INTEGER', () => {
    const index = new ConnectionIndex();
    (index as unknown as { counter: number }).counter = Number.MAX_SAFE_INTEGER - 1;
    expect(index.nextSocketId()).toBe(`${index.nodeId}.${Number.MAX_SAFE_INTEGER}`);
    expect(index.nextSocketId()).toBe(`${index.nodeId}.1`);
  });

  it('removes a client once, and not another client that has the same id', () => {
    const index = new ConnectionIndex();
    const c = new FakeClient('1.1');
    const impostor = new FakeClient('1.1');
    index.add(c);
    expect(index.remove(impostor)).toBe(false);
    expect(index.clients.get('1.1')).toBe(c);
    expect(index.remove(c)).toBe(true);
    expect(index.remove(c)).toBe(false);
    expect(index.clients.size).toBe(0);
  });

  it('indexes signed-in users: moves a client between users, forgets empty users, and signs out on remove', () => {
    const index = new ConnectionIndex();
    const a = new FakeClient('1.1');
    const b = new FakeClient('1.2');
    index.add(a);
    index.add(b);
    index.setUser(a, 'u1');
    index.setUser(b, 'u1');
    expect(a.userId).toBe('u1');
    expect(ids(index.users.get('u1') ?? [])).toEqual(['1.1', '1.2']);
    index.setUser(a, 'u2');
    expect(ids(index.users.get('u1') ?? [])).toEqual(['1.2']);
    expect(ids(index.users.get('u2') ?? [])).toEqual(['1.1']);
    index.setUser(a, 'u2'); // the same user again: nothing changes
    expect(index.users.get('u2')?.size).toBe(1);
    index.setUser(a, undefined);
    expect(a.userId).toBeUndefined();
    expect(index.users.has('u2')).toBe(false);
    index.remove(b);
    expect(b.userId).toBeUndefined();
    expect(index.users.size).toBe(0);
  });

  it('targets a socket and a user’s sockets, each once, and nothing unknown', () => {
    const index = new ConnectionIndex();
    const [a, b, c] = ['1.1', '1.2', '1.3'].map((id) => new FakeClient(id));
    for (const x of [a, b, c]) index.add(x);
    index.setUser(a, 'u1');
    index.setUser(b, 'u1');
    expect(ids(index.targets('1.3'))).toEqual(['1.3']);
    expect(ids(index.targets(undefined, 'u1'))).toEqual(['1.1', '1.2']);
    expect(ids(index.targets('1.1', 'u1'))).toEqual(['1.1', '1.2']);
    expect(ids(index.targets('1.3', 'u1'))).toEqual(['1.3', '1.1', '1.2']);
    expect(index.targets('9.9', 'nobody')).toEqual([]);
    expect(index.targets()).toEqual([]);
  });

  it('yields the known clients of a list of ids, in its order', () => {
    const index = new ConnectionIndex();
    const [a, b] = ['1.1', '1.2'].map((id) => new FakeClient(id));
    index.add(a);
    index.add(b);
    expect(ids(index.byIds(['1.2', '9.9', '1.1']))).toEqual(['1.2', '1.1']);
  });
});
