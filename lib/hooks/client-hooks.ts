import type { IncomingMessage } from 'node:http';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner } from '@nestjs/core';
import type { Client } from '../core/client.js';
import { ON_CLIENT_CONNECT } from '../decorators/on-client-connect.decorator.js';
import { ON_CLIENT_DISCONNECT } from '../decorators/on-client-disconnect.decorator.js';
import { ON_CLIENT_MESSAGE } from '../decorators/on-client-message.decorator.js';
import { type DecoratedMethod, findDecoratedMethods } from '../discovery/decorated-methods.js';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';
import { clientError, errorFrame } from './error-frame.js';
import { createMessageHandler, exceptionFiltersOf, hostModuleKey, type MessageHandler } from './message-handlers.js';

type Hook = (...args: unknown[]) => unknown;

const q = JSON.stringify;

/**
 * App code on the connection: @OnClientConnect, @OnClientDisconnect and @OnClientMessage methods,
 * discovered at bootstrap like @ChannelAuth. Request-scoped providers are skipped with a warning
 * (a WebSocket frame has no request scope). @OnClientMessage handlers run with Nest's guards, pipes,
 * interceptors and exception filters (message-handlers.ts).
 */
@Injectable()
export class ClientHooks implements OnModuleInit {
  private readonly logger = new Logger('BroadcastHooks');
  private connectHooks: Hook[] = [];
  private disconnectHooks: Hook[] = [];
  private readonly messageHooks = new Map<string, { handler: MessageHandler; label: string }>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly contextCreator: ExternalContextCreator,
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
    const messages = all<string>(ON_CLIENT_MESSAGE);
    const filters = messages.length > 0 ? exceptionFiltersOf(this.contextCreator) : undefined;
    for (const m of messages) {
      const previous = this.messageHooks.has(m.metadata);
      if (previous) throw new Error(`@OnClientMessage('${m.metadata}') is declared twice (again on ${m.label})`);
      if (!bind(m) || !filters) continue;
      const moduleKey = hostModuleKey(m);
      if (moduleKey === undefined) {
        throw new Error(
          `@OnClientMessage('${m.metadata}') on ${m.label}: declare it on a provider (Nest resolves a handler's guards, pipes, interceptors and filters among its module's providers; a controller is none)`,
        );
      }
      const handler = createMessageHandler(this.contextCreator, filters, m, moduleKey);
      this.messageHooks.set(m.metadata, { handler, label: `@OnClientMessage('${m.metadata}') (${m.label})` });
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

  /**
   * Handles an app message type; false when no hook takes it. The handler gets the frame without
   * its `type` and `ref`; its reply, or the error it ends in, goes back to the client while it is
   * connected (Client.send drops frames to a closed connection).
   */
  message(client: Client, type: string, message: Record<string, unknown>): boolean {
    const hook = this.messageHooks.get(type);
    if (!hook) return false;
    const { type: _type, ref, ...payload } = message;
    const refJson = typeof ref === 'string' || typeof ref === 'number' ? `,"ref":${q(ref)}` : '';
    const reply = (value: unknown) => {
      if (value === undefined) return;
      client.send(`{"type":"reply","request":${q(type)}${refJson},"data":${q(value) ?? 'null'}}`);
    };
    const fail = (err: unknown) => {
      const e = clientError(err);
      if (e.internal) this.logError(hook.label, err);
      client.send(errorFrame(e, type, refJson));
    };
    // The gateway's clients are Connections, BroadcastClients too. A reply that cannot be serialized
    // fails like the handler did (never an unhandled rejection).
    hook
      .handler(client as unknown as BroadcastClient, payload, type)
      .then(reply)
      .catch(fail);
    return true;
  }

  private logError(where: string, err: unknown): void {
    this.logger.error(`${where} failed: ${(err as Error)?.message ?? String(err)}`, (err as Error)?.stack);
  }
}
