import { afterEach, describe, expect, it } from '@jest/globals';
import { type INestApplication, Injectable, type LoggerService, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BroadcastConfigError, BroadcastModule, ChannelAuth, setupBroadcasting } from 'nestjs-broadcasting';
import { createFixtureApp } from '../fixture/fixture.module.js';
import { listenOnLoopback, postJson, type RunningApp } from '../helpers/app.js';

@Injectable()
class OrderAuth {
  @ChannelAuth('private-orders.{id}')
  owner() {
    return true;
  }
}

@Injectable()
class AngleOrderAuth {
  @ChannelAuth('private-orders.<id>')
  byAngle() {
    return true;
  }
}

@Injectable()
class RenamedOrderAuth {
  @ChannelAuth('private-orders.{orderId}')
  renamed() {
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
class TwoMethods {
  @ChannelAuth('private-docs.{id}.{part}')
  first() {
    return true;
  }

  @ChannelAuth('private-docs.<doc>.<section>')
  second() {
    return true;
  }
}

/** Overlapping patterns of different specificity: each its own answer. */
@Injectable()
class Overlapping {
  @ChannelAuth('private-orders.{id}')
  anyOrder() {
    return false;
  }

  @ChannelAuth('private-orders.vip')
  vip() {
    return true;
  }

  @ChannelAuth('orders.{id}')
  eitherType() {
    return true;
  }
}

async function appWith(providers: Type[]): Promise<INestApplication> {
  // Every request has a user: the authorizers decide.
  @Module({ imports: [BroadcastModule.forRoot({ auth: { resolveUser: () => ({ id: '1' }) } })], providers })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger: false });
  setupBroadcasting(app);
  return app;
}

describe('@ChannelAuth patterns that match the same channels', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it.each([
    [
      '{id} and <id>',
      [OrderAuth, AngleOrderAuth],
      ['OrderAuth.owner', "'private-orders.{id}'", 'AngleOrderAuth.byAngle', "'private-orders.<id>'"],
    ],
    [
      '{id} and {orderId}',
      [OrderAuth, RenamedOrderAuth],
      ['OrderAuth.owner', "'private-orders.{id}'", 'RenamedOrderAuth.renamed', "'private-orders.{orderId}'"],
    ],
    [
      'one pattern on two classes',
      [RoomAuthorizer, OtherRoomAuthorizer],
      ['RoomAuthorizer.authorize', 'OtherRoomAuthorizer.authorize', "'presence-room.{room}'"],
    ],
    [
      'two methods of one class, two parameters each',
      [TwoMethods],
      ['TwoMethods.first', "'private-docs.{id}.{part}'", 'TwoMethods.second', "'private-docs.<doc>.<section>'"],
    ],
  ] as Array<[string, Type[], string[]]>)(
    'fail the bootstrap, naming both handlers and patterns: %s',
    async (_, providers, named) => {
      app = await appWith(providers);
      const failure = app.init();
      await expect(failure).rejects.toThrow(BroadcastConfigError);
      const message = await failure.then(
        () => '',
        (err: Error) => err.message,
      );
      expect(message).toMatch(/one authorizer per channel pattern/);
      for (const text of named) expect(message).toContain(text);
    },
  );

  it('patterns that only overlap boot, and the most specific one decides', async () => {
    app = await appWith([Overlapping]);
    const run = await listenOnLoopback(app);
    const auth = async (channel: string) =>
      (await postJson(`${run.http}/broadcasting/auth`, { socket_id: '1.2', channel_name: channel })).status;
    expect(await auth('private-orders.vip')).toBe(200); // vip, over {id} and the untyped orders.{id}
    expect(await auth('private-orders.5')).toBe(403); // anyOrder, over the untyped orders.{id}
    expect(await auth('presence-orders.5')).toBe(200); // only orders.{id} covers presence
  });
});

/** Keeps the debug lines of the ChannelAuth context. */
class DebugLines implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  error() {}
  warn() {}
  debug(message: unknown, context?: string) {
    if (context === 'ChannelAuth') this.lines.push(String(message));
  }
}

describe('a 403 because no @ChannelAuth pattern matches', () => {
  let run: RunningApp | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  it('is logged at debug level with the registered patterns, once per channel name', async () => {
    const logger = new DebugLines();
    run = await listenOnLoopback(await createFixtureApp({}, logger));
    const http = run.http;
    const auth = (channel: string) =>
      postJson(`${http}/broadcasting/auth`, { socket_id: '1.2', channel_name: channel }, { authorization: 'Bearer 7' });
    expect((await auth('private-nowhere.1')).status).toBe(403);
    expect((await auth('private-nowhere.1')).status).toBe(403);
    expect((await auth('presence-nowhere')).status).toBe(403);
    // A refusal by a matching authorizer is the app's answer, not a missing pattern: not logged.
    expect((await auth('private-user.8')).status).toBe(403);
    const hints = logger.lines.filter((l) => l.includes('no @ChannelAuth pattern matches'));
    expect(hints).toHaveLength(2);
    expect(hints[0]).toMatch(/^no @ChannelAuth pattern matches private-nowhere\.1 \(answered 403\); registered: /);
    expect(hints[0]).toContain('private-user.{id}');
    expect(hints[0]).toContain('presence-chat.{room}');
    expect(hints[1]).toMatch(/^no @ChannelAuth pattern matches presence-nowhere /);
  });
});
