import { describe, expect, it } from '@jest/globals';
import { Injectable, type Provider, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BroadcastConfigError, BroadcastModule, ChannelAuth, setupBroadcasting } from 'nestjs-broadcasting';
import { ChannelAuthExplorer } from '../../../lib/auth/channel-auth.explorer.js';
import { bootAuth, KEY, LogLines, SECRET } from './auth-app.js';

@Injectable()
class Orders {
  @ChannelAuth('private-orders.{id}')
  owner() {
    return true;
  }

  @ChannelAuth('private-orders.vip')
  vip() {
    return true;
  }
}

@ChannelAuth('presence-room.{room}')
@Injectable()
class RoomAuthorizer {
  authorize() {
    return true;
  }
}

@ChannelAuth('presence-room.{room}')
@Injectable()
class OtherRoomAuthorizer {
  authorize() {
    return true;
  }
}

@Injectable()
class RenamedOrders {
  @ChannelAuth('private-orders.{orderId}')
  renamed() {
    return true;
  }
}

/** Decorated, but with nothing to call. */
@ChannelAuth('private-lost.{id}')
@Injectable()
class NoAuthorizeMethod {
  check() {
    return true;
  }
}

/** A decorated token that is no class at all (no prototype), provided with an object. */
const ArrowToken = (() => undefined) as unknown as Type;
ChannelAuth('private-arrow.{id}')(ArrowToken);

/** One provider whose n methods each authorize `private-manyNN.{id}`, in that order. */
function manyPatterns(n: number): Type {
  class Many {}
  for (let i = 0; i < n; i++) {
    const name = `m${i}`;
    Object.defineProperty(Many.prototype, name, { value: () => true, writable: true, configurable: true });
    const descriptor = Object.getOwnPropertyDescriptor(Many.prototype, name) as PropertyDescriptor;
    ChannelAuth(`private-many${String(i).padStart(2, '0')}.{id}`)(Many.prototype, name, descriptor);
  }
  Injectable()(Many);
  return Many;
}
const many = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `private-many${String(from + i).padStart(2, '0')}.{id}`);

/** The error the bootstrap of an app with these providers fails with. */
async function bootstrapError(providers: Provider[]): Promise<Error> {
  const moduleRef = await Test.createTestingModule({
    imports: [BroadcastModule.forRoot({ key: KEY, secret: SECRET })],
    providers,
  })
    .setLogger(new LogLines())
    .compile();
  const app = moduleRef.createNestApplication();
  setupBroadcasting(app);
  try {
    await app.init();
  } catch (err) {
    return err as Error;
  } finally {
    await app.close();
  }
  throw new Error('the bootstrap succeeded');
}

describe('ChannelAuthExplorer at bootstrap', () => {
  it('logs each pattern with its handler, most specific first', async () => {
    const app = await bootAuth({}, [Orders, RoomAuthorizer]);
    try {
      expect(app.logs.take().filter((l) => l.startsWith('log '))).toEqual([
        'log private-orders.vip → Orders.vip',
        'log private-orders.{id} → Orders.owner',
        'log presence-room.{room} → RoomAuthorizer.authorize',
      ]);
    } finally {
      await app.close();
    }
  });

  it('knows no authorizer before the bootstrap', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BroadcastModule.forRoot({ key: KEY, secret: SECRET })],
      providers: [Orders],
    })
      .setLogger(new LogLines())
      .compile();
    try {
      const explorer = moduleRef.get(ChannelAuthExplorer, { strict: false });
      expect(explorer.patterns).toEqual([]);
      expect(explorer.match('private-orders.1', {})).toBeUndefined();
    } finally {
      await moduleRef.close();
    }
  });

  it('fails on a decorated class without an authorize method', async () => {
    const err = await bootstrapError([NoAuthorizeMethod]);
    expect(err.message).toBe(
      '@ChannelAuth on class NoAuthorizeMethod: it needs an authorize(user, params, context) method',
    );
  });

  it('fails on a decorated token without a prototype, with the same explanation', async () => {
    const err = await bootstrapError([{ provide: ArrowToken, useValue: { authorize: () => true } }]);
    expect(err.message).toBe('@ChannelAuth on class ArrowToken: it needs an authorize(user, params, context) method');
  });

  it('fails on patterns that match the same channels, naming every pair and saying how they are alike', async () => {
    const err = await bootstrapError([RoomAuthorizer, OtherRoomAuthorizer, Orders, RenamedOrders]);
    expect(err).toBeInstanceOf(BroadcastConfigError);
    expect((err as BroadcastConfigError).option).toBe('@ChannelAuth');
    expect(err.message).toBe(
      'nestjs-broadcasting: one authorizer per channel pattern: ' +
        "RoomAuthorizer.authorize ('presence-room.{room}') and OtherRoomAuthorizer.authorize ('presence-room.{room}') authorize the same pattern (presence-room.{} once parameter names are erased); " +
        "Orders.owner ('private-orders.{id}') and RenamedOrders.renamed ('private-orders.{orderId}') authorize equivalent patterns (private-orders.{} once parameter names are erased). " +
        'Keep one of each pair (patterns of different specificity, such as private-orders.{id} and private-orders.vip, may overlap: the most specific decides).',
    );
  });
});

describe('a 403 because no @ChannelAuth pattern matches', () => {
  const ask = (app: Awaited<ReturnType<typeof bootAuth>>, channel: string) =>
    app.auth.authorizeChannel({ user: { id: 'u1' } }, { socket_id: '1.2', channel_name: channel });

  it('is logged at debug level once per channel name, naming the registered patterns', async () => {
    const app = await bootAuth({}, [Orders]);
    try {
      app.logs.take();
      expect((await ask(app, 'private-nowhere.1')).status).toBe(403);
      expect((await ask(app, 'private-nowhere.1')).status).toBe(403);
      expect((await ask(app, 'presence-nowhere')).status).toBe(403);
      expect(app.logs.take()).toEqual([
        'debug no @ChannelAuth pattern matches private-nowhere.1 (answered 403); registered: private-orders.vip, private-orders.{id}',
        'debug no @ChannelAuth pattern matches presence-nowhere (answered 403); registered: private-orders.vip, private-orders.{id}',
      ]);
    } finally {
      await app.close();
    }
  });

  it('says "none" when no authorizer is registered', async () => {
    const app = await bootAuth();
    try {
      app.logs.take();
      expect(await ask(app, 'private-orders.1')).toEqual({ status: 403, body: { error: 'forbidden' } });
      expect(app.logs.take()).toEqual([
        'debug no @ChannelAuth pattern matches private-orders.1 (answered 403); registered: none',
      ]);
    } finally {
      await app.close();
    }
  });

  it.each([
    [20, many(0, 20).join(', ')],
    [21, `${many(0, 20).join(', ')}, … (1 more)`],
    [23, `${many(0, 20).join(', ')}, … (3 more)`],
  ])('names at most 20 patterns (%i registered)', async (n, registered) => {
    const app = await bootAuth({}, [manyPatterns(n)]);
    try {
      app.logs.take();
      expect((await ask(app, 'private-orders.1')).status).toBe(403);
      expect(app.logs.take()).toEqual([
        `debug no @ChannelAuth pattern matches private-orders.1 (answered 403); registered: ${registered}`,
      ]);
    } finally {
      await app.close();
    }
  });
});
