import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Injectable,
  type LoggerService,
  Module,
  type NestInterceptor,
  ParseIntPipe,
  UseFilters,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ConnectedSocket, MessageBody, WsException } from '@nestjs/websockets';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';
import {
  type BroadcastClient,
  BroadcastModule,
  OnClientMessage,
  SignedInUser,
  SocketId,
  setupBroadcasting,
  signUser,
} from 'nestjs-broadcasting';
import { RequestError } from 'nestjs-broadcasting/client';
import { map } from 'rxjs';
import { listenOnLoopback, type RunningApp } from '../helpers/app.js';
import { CREDENTIALS } from '../helpers/broadcast-node.js';
import { connectedClient, nodeClient } from '../helpers/native-client.js';
import { nativeClients, type TestClient } from '../helpers/test-client.js';

/**
 * @OnClientMessage handlers are Nest handlers: parameter decorators, pipes, guards (method and
 * global), interceptors and exception filters apply in the `ws` execution context, over a real
 * socket speaking the native protocol; what they throw maps to the `error` frame, and only app bugs
 * are logged.
 */

/** What a guard saw of the execution context, per call. */
const guardSaw: Array<{ type: string; socketId: string; data: unknown; pattern: unknown }> = [];

@Injectable()
class SignedInGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    const ws = ctx.switchToWs();
    const client = ws.getClient<BroadcastClient>();
    guardSaw.push({ type: ctx.getType(), socketId: client.id, data: ws.getData(), pattern: ws.getPattern() });
    return client.userId !== undefined;
  }
}

/** A global guard (APP_GUARD): refuses any app message whose payload says `blocked`. */
@Injectable()
class GlobalGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    if (ctx.getType() !== 'ws') return true;
    return ctx.switchToWs().getData<{ blocked?: unknown }>().blocked !== true;
  }
}

@Injectable()
class Wrap implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler) {
    return next.handle().pipe(map((x) => ({ wrapped: x })));
  }
}

class Spilled extends Error {}

/** Answers the request itself: its value is the reply. */
@Catch(Spilled)
class SpilledFilter implements ExceptionFilter {
  catch(e: Spilled, host: ArgumentsHost) {
    return { recovered: e.message, pattern: host.switchToWs().getPattern(), type: host.getType() };
  }
}

/** Turns a RangeError into a WsException the client is told. */
@Catch(RangeError)
class RangeFilter implements ExceptionFilter {
  catch(e: RangeError) {
    throw new WsException(`out of range: ${e.message}`);
  }
}

class SendDto {
  @IsString()
  @Length(1, 20)
  text!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  room?: number;

  shout(): string {
    return `${this.text.toUpperCase()}!`;
  }
}

@Injectable()
class ChatHandlers {
  @OnClientMessage('members.only')
  @UseGuards(SignedInGuard)
  membersOnly(@SignedInUser() user: string | undefined, @MessageBody('text') text: unknown) {
    return { user, text };
  }

  @OnClientMessage('chat.send')
  send(
    @MessageBody(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true })) dto: SendDto,
  ) {
    return { isDto: dto instanceof SendDto, shout: dto.shout(), room: dto.room ?? null, keys: Object.keys(dto) };
  }

  @OnClientMessage('double')
  @UseInterceptors(Wrap)
  double(@MessageBody('n', ParseIntPipe) n: number) {
    return n * 2;
  }

  @OnClientMessage('whole')
  whole(@MessageBody(new ParseIntPipe()) n: number) {
    return n + 1;
  }

  @OnClientMessage('filtered')
  @UseFilters(SpilledFilter, RangeFilter)
  filtered(@MessageBody('what') what: string) {
    if (what === 'spill') throw new Spilled('spilled milk');
    if (what === 'range') throw new RangeError('too far');
    throw new Error('filtered: the database password is hunter2');
  }

  @OnClientMessage('who')
  who(
    @SocketId() socketId: string,
    @SignedInUser() user: string | undefined,
    @ConnectedSocket() client: BroadcastClient,
    @MessageBody('text') text: unknown,
  ) {
    return { socketId, user: user ?? null, clientId: client.id, protocol: client.protocol, text };
  }

  /** No parameter decorators: the raw call arguments. */
  @OnClientMessage('raw')
  raw(client: BroadcastClient, payload: Record<string, unknown>, type: string) {
    return { clientId: client.id, payload, type };
  }

  @OnClientMessage('refuse')
  refuse() {
    throw new WsException('not today');
  }

  @OnClientMessage('crash')
  crash() {
    throw new Error('crash: the database password is hunter2');
  }
}

/** Every ERROR line the app logged, with its context. */
class ErrorLines implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  warn() {}
  error(message: unknown, ...rest: unknown[]) {
    this.lines.push([message, ...rest].map(String).join(' | '));
  }
}

const { key: KEY, secret: SECRET } = CREDENTIALS;

async function start(logger: ErrorLines): Promise<RunningApp> {
  @Module({
    imports: [BroadcastModule.forRoot({ ...CREDENTIALS })],
    providers: [ChatHandlers, { provide: APP_GUARD, useClass: GlobalGuard }],
  })
  class HandlersApp {}
  const app = await NestFactory.create(HandlersApp, { logger });
  setupBroadcasting(app);
  return listenOnLoopback(app);
}

async function signIn(c: TestClient, userId: string): Promise<void> {
  const userData = JSON.stringify({ id: userId });
  const reply = await c.request({
    type: 'signin',
    auth: signUser(KEY, SECRET, c.socketId, userData),
    user_data: userData,
  });
  expect(reply).toMatchObject({ type: 'signed_in', user_id: userId });
}

describe('@OnClientMessage handlers in Nest’s execution context', () => {
  const logs = new ErrorLines();
  let run: RunningApp;
  const clients = nativeClients(() => run.ws);
  beforeAll(async () => {
    run = await start(logs);
  });
  afterAll(async () => {
    await clients.closeAll();
    await run.close();
  });
  beforeEach(() => {
    logs.lines.length = 0;
    guardSaw.length = 0;
  });

  it('a guard refuses an anonymous client with 403 and admits a signed-in one; it sees the client and the payload', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'members.only', text: 'hi', ref: 1 })).toEqual({
      type: 'error',
      status: 403,
      message: 'Forbidden resource',
      request: 'members.only',
      ref: 1,
    });
    expect(guardSaw).toEqual([{ type: 'ws', socketId: c.socketId, data: { text: 'hi' }, pattern: 'members.only' }]);

    await signIn(c, 'u1');
    expect(await c.request({ type: 'members.only', text: 'hello', ref: 2 })).toEqual({
      type: 'reply',
      request: 'members.only',
      ref: 2,
      data: { user: 'u1', text: 'hello' },
    });
    expect(guardSaw).toHaveLength(2);
    expect(logs.lines).toEqual([]);
  });

  it('a global guard (APP_GUARD) applies to every handler', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'who', blocked: true, ref: 'g' })).toEqual({
      type: 'error',
      status: 403,
      message: 'Forbidden resource',
      request: 'who',
      ref: 'g',
    });
    expect(await c.request({ type: 'who', text: 'ok', ref: 'h' })).toMatchObject({ type: 'reply', ref: 'h' });
  });

  it('a ValidationPipe refuses an invalid payload with 400 and the errors, and hands a valid one over as the DTO', async () => {
    const c = await clients.connect();
    const bad = await c.request({ type: 'chat.send', text: '', room: 0, extra: 1, ref: 3 });
    expect(bad).toMatchObject({ type: 'error', status: 400, request: 'chat.send', ref: 3 });
    const errors = bad.errors as string[];
    expect(errors).toEqual(
      expect.arrayContaining([
        'property extra should not exist',
        'text must be longer than or equal to 1 characters',
        'room must not be less than 1',
      ]),
    );
    expect(errors).toHaveLength(3);
    expect(bad.message).toBe(errors.join('; '));

    // `type` and `ref` are the frame's, not the payload's: forbidNonWhitelisted does not see them.
    expect(await c.request({ type: 'chat.send', text: 'hey', room: 2, ref: 4 })).toEqual({
      type: 'reply',
      request: 'chat.send',
      ref: 4,
      data: { isDto: true, shout: 'HEY!', room: 2, keys: ['text', 'room'] },
    });
    expect(logs.lines).toEqual([]);
  });

  it('an interceptor maps the result; param pipes transform a field and the whole body', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'double', n: '21', ref: 5 })).toEqual({
      type: 'reply',
      request: 'double',
      ref: 5,
      data: { wrapped: 42 },
    });
    expect(await c.request({ type: 'double', n: 'many', ref: 6 })).toEqual({
      type: 'error',
      status: 400,
      message: 'Validation failed (numeric string is expected)',
      request: 'double',
      ref: 6,
    });
    // The whole payload is an object, not a numeric string: ParseIntPipe on @MessageBody() refuses it.
    expect(await c.request({ type: 'whole', ref: 7 })).toMatchObject({ type: 'error', status: 400, ref: 7 });
  });

  it('exception filters: a returned value is the reply, a WsException thrown by a filter is the error, the rest is internal', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'filtered', what: 'spill', ref: 8 })).toEqual({
      type: 'reply',
      request: 'filtered',
      ref: 8,
      data: { recovered: 'spilled milk', pattern: 'filtered', type: 'ws' },
    });
    expect(await c.request({ type: 'filtered', what: 'range', ref: 9 })).toEqual({
      type: 'error',
      message: 'out of range: too far',
      request: 'filtered',
      ref: 9,
    });
    expect(logs.lines).toEqual([]);

    const internal = await c.request({ type: 'filtered', what: 'other', ref: 10 });
    expect(internal).toEqual({ type: 'error', message: 'internal error', request: 'filtered', ref: 10 });
    expect(JSON.stringify(internal)).not.toContain('hunter2');
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).toContain("@OnClientMessage('filtered') (ChatHandlers.filtered) failed");
  });

  it('@SocketId, @SignedInUser, @ConnectedSocket and @MessageBody(field) give the connection’s values', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'who', text: 'anon', ref: 11 })).toEqual({
      type: 'reply',
      request: 'who',
      ref: 11,
      data: { socketId: c.socketId, user: null, clientId: c.socketId, protocol: 'native', text: 'anon' },
    });
    await signIn(c, 'u2');
    expect(await c.request({ type: 'who', text: 'me', ref: 12 })).toMatchObject({
      data: { socketId: c.socketId, user: 'u2', clientId: c.socketId, text: 'me' },
    });
  });

  it('an undecorated handler gets (client, payload without type and ref, type)', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'raw', a: 1, nested: { b: [2] }, ref: 13 })).toEqual({
      type: 'reply',
      request: 'raw',
      ref: 13,
      data: { clientId: c.socketId, payload: { a: 1, nested: { b: [2] } }, type: 'raw' },
    });
  });

  it('logs no WsException, but an unknown error once, without telling the client its details', async () => {
    const c = await clients.connect();
    expect(await c.request({ type: 'refuse', ref: 14 })).toEqual({
      type: 'error',
      message: 'not today',
      request: 'refuse',
      ref: 14,
    });
    expect(logs.lines).toEqual([]);

    const crash = await c.request({ type: 'crash', ref: 15 });
    expect(crash).toEqual({ type: 'error', message: 'internal error', request: 'crash', ref: 15 });
    expect(JSON.stringify(crash)).not.toContain('hunter2');
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).toContain("@OnClientMessage('crash') (ChatHandlers.crash) failed: crash: the database");
    expect(logs.lines[0]).toContain('BroadcastHooks');
  });

  it('the typed client rejects request() with a RequestError carrying status and errors', async () => {
    const client = nodeClient(run);
    try {
      await connectedClient(client);
      const failure = await client.request('chat.send', { text: 42 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(RequestError);
      const e = failure as RequestError;
      expect(e.status).toBe(400);
      expect(e.errors).toEqual([
        'text must be longer than or equal to 1 and shorter than or equal to 20 characters',
        'text must be a string',
      ]);
      expect(e.message).toBe((e.errors as string[]).join('; '));

      const refused = (await client.request('refuse').catch((err: unknown) => err)) as RequestError;
      expect(refused).toBeInstanceOf(RequestError);
      expect(refused.message).toBe('not today');
      expect(refused.status).toBeUndefined();
      expect(refused.errors).toBeUndefined();

      await expect(client.request('chat.send', { text: 'ok' })).resolves.toMatchObject({ isDto: true, shout: 'OK!' });
    } finally {
      client.disconnect();
    }
  });
});

describe('@OnClientMessage on a controller', () => {
  it('is refused at startup: Nest resolves its guards, pipes, interceptors and filters among providers only', async () => {
    @Controller()
    class ChatController {
      @OnClientMessage('chat.controller')
      @UseGuards(SignedInGuard)
      handle() {
        return 'reached';
      }
    }
    @Module({ imports: [BroadcastModule.forRoot({ ...CREDENTIALS })], controllers: [ChatController] })
    class ControllerApp {}
    const app = await NestFactory.create(ControllerApp, { logger: false });
    setupBroadcasting(app);
    await expect(app.init()).rejects.toThrow(
      "@OnClientMessage('chat.controller') on ChatController.handle: declare it on a provider",
    );
    await app.close();
  });
});
