import type { IncomingMessage } from 'node:http';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { WsException } from '@nestjs/websockets';
import type { Client } from '../core/client.js';
import { ON_CLIENT_CONNECT } from '../decorators/on-client-connect.decorator.js';
import { ON_CLIENT_DISCONNECT } from '../decorators/on-client-disconnect.decorator.js';
import { ON_CLIENT_MESSAGE } from '../decorators/on-client-message.decorator.js';
import { type DecoratedMethod, findDecoratedMethods } from '../discovery/decorated-methods.js';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';

type Hook = (...args: unknown[]) => unknown;

const q = JSON.stringify;

/**
 * App code on the connection: @OnClientConnect, @OnClientDisconnect and @OnClientMessage methods,
 * discovered at bootstrap like @ChannelAuth. Request-scoped providers are skipped with a warning
 * (a WebSocket frame has no request scope).
 */
@Injectable()
export class ClientHooks implements OnModuleInit {
  private readonly logger = new Logger('BroadcastHooks');
  private connectHooks: Hook[] = [];
  private disconnectHooks: Hook[] = [];
  private readonly messageHooks = new Map<string, Hook>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    const bind = (m: DecoratedMethod<unknown>): Hook | undefined => {
      if (!m.wrapper.isDependencyTreeStatic()) {
        this.logger.warn(`${m.label} is request-scoped: WebSocket hooks cannot use it, skipped`);
        return undefined;
      }
      const instance = m.wrapper.instance as Record<string, Hook>;
      return instance[m.method].bind(instance);
    };
    const all = <M>(key: string) => findDecoratedMethods<M>(this.discovery, this.scanner, key);
    this.connectHooks = all(ON_CLIENT_CONNECT).flatMap((m) => bind(m) ?? []);
    this.disconnectHooks = all(ON_CLIENT_DISCONNECT).flatMap((m) => bind(m) ?? []);
    for (const m of all<string>(ON_CLIENT_MESSAGE)) {
      const previous = this.messageHooks.has(m.metadata);
      if (previous) throw new Error(`@OnClientMessage('${m.metadata}') is declared twice (again on ${m.label})`);
      const hook = bind(m);
      if (hook) this.messageHooks.set(m.metadata, hook);
    }
  }

  get hasConnectHooks(): boolean {
    return this.connectHooks.length > 0;
  }

  /** Runs the connect hooks in order; rejects with the first error. */
  async connected(client: BroadcastClient, request: IncomingMessage): Promise<void> {
    for (const hook of this.connectHooks) await hook(client, request);
  }

  disconnected(client: BroadcastClient, code: number): void {
    for (const hook of this.disconnectHooks) {
      try {
        const r = hook(client, code);
        if (r instanceof Promise) r.catch((err) => this.logError('@OnClientDisconnect', err));
      } catch (err) {
        this.logError('@OnClientDisconnect', err);
      }
    }
  }

  /** Handles an app message type; false when no hook takes it. */
  message(client: Client, type: string, message: Record<string, unknown>): boolean {
    const hook = this.messageHooks.get(type);
    if (!hook) return false;
    const ref = message.ref;
    const refJson = typeof ref === 'string' || typeof ref === 'number' ? `,"ref":${q(ref)}` : '';
    const reply = (value: unknown) => {
      if (value === undefined) return;
      client.send(`{"type":"reply","request":${q(type)}${refJson},"data":${q(value) ?? 'null'}}`);
    };
    const error = (message: string) =>
      client.send(`{"type":"error","message":${q(message)},"request":${q(type)}${refJson}}`);
    const fail = (err: unknown) => {
      if (err instanceof WsException) {
        const e = err.getError();
        const text = typeof e === 'string' ? e : ((e as { message?: unknown })?.message ?? 'error');
        error(String(text));
      } else {
        this.logError(`@OnClientMessage('${type}')`, err);
        error('internal error');
      }
    };
    try {
      const r = hook(client, message);
      // A reply that cannot be serialized fails like the handler did (never an unhandled rejection).
      if (r instanceof Promise) r.then(reply).catch(fail);
      else reply(r);
    } catch (err) {
      fail(err);
    }
    return true;
  }

  private logError(where: string, err: unknown): void {
    this.logger.error(`${where} failed: ${(err as Error)?.message ?? String(err)}`);
  }
}
