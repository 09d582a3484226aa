import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { BroadcastConfigError } from '../config/config-error.js';
import { CHANNEL_AUTH_METADATA } from '../decorators/channel-auth.decorator.js';
import { findDecoratedClasses, findDecoratedMethods } from '../discovery/decorated-methods.js';
import type { ChannelAuthContext, ChannelAuthResult } from '../interfaces/channel-authorizer.interface.js';
import {
  bySpecificity,
  type ChannelPattern,
  compileChannelPattern,
  matchChannelPattern,
} from '../names/channel-pattern.js';

type AuthorizeFn = (user: unknown, params: Record<string, string>, ctx: ChannelAuthContext) => unknown;

interface Entry {
  pattern: ChannelPattern;
  wrapper: InstanceWrapper;
  method: string;
  /** Label for logs: `Class.method`. */
  label: string;
}

/** A pattern that matched, with its parameters, ready to be called. */
export interface AuthorizerMatch {
  pattern: string;
  params: Record<string, string>;
  label: string;
  call(user: unknown, ctx: ChannelAuthContext): Promise<ChannelAuthResult>;
}

/**
 * Finds every @ChannelAuth at bootstrap (classes and methods of providers and controllers) and
 * keeps one table, most specific pattern first. Two patterns that match the same channels (the same
 * pattern, or one that differs only in parameter names) fail the bootstrap: which one decided would
 * depend on discovery order. Request-scoped authorizers are resolved per request.
 */
@Injectable()
export class ChannelAuthExplorer implements OnModuleInit {
  private readonly logger = new Logger('ChannelAuth');
  private entries: Entry[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    const entries: Entry[] = [];
    const add = (patterns: string[], wrapper: InstanceWrapper, method: string, label: string) => {
      for (const p of patterns) entries.push({ pattern: compileChannelPattern(p), wrapper, method, label });
    };
    for (const { wrapper, metadata, name, type } of findDecoratedClasses<string[]>(
      this.discovery,
      CHANNEL_AUTH_METADATA,
    )) {
      if (typeof (type as { prototype?: { authorize?: unknown } }).prototype?.authorize !== 'function') {
        throw new Error(`@ChannelAuth on class ${name}: it needs an authorize(user, params, context) method`);
      }
      add(metadata, wrapper, 'authorize', `${name}.authorize`);
    }
    for (const m of findDecoratedMethods<string[]>(this.discovery, this.scanner, CHANNEL_AUTH_METADATA)) {
      add(m.metadata, m.wrapper, m.method, m.label);
    }
    refuseEquivalent(entries);
    // Array.prototype.sort is stable: equal specificity keeps discovery order.
    this.entries = entries.sort((a, b) => bySpecificity(a.pattern, b.pattern));
    for (const e of this.entries) this.logger.log(`${e.pattern.source} → ${e.label}`);
  }

  /** The registered patterns, most specific first. */
  get patterns(): string[] {
    return this.entries.map((e) => e.pattern.source);
  }

  match(channel: string, request: unknown): AuthorizerMatch | undefined {
    for (const e of this.entries) {
      const params = matchChannelPattern(e.pattern, channel);
      if (params === undefined) continue;
      return {
        pattern: e.pattern.source,
        params,
        label: e.label,
        call: async (user, ctx) => {
          const instance = await this.instanceFor(e.wrapper, request);
          const fn = (instance as Record<string, AuthorizeFn>)[e.method];
          return (await fn.call(instance, user, params, ctx)) as ChannelAuthResult;
        },
      };
    }
    return undefined;
  }

  private async instanceFor(wrapper: InstanceWrapper, request: unknown): Promise<unknown> {
    if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient) return wrapper.instance;
    const contextId = ContextIdFactory.getByRequest(request as object);
    this.moduleRef.registerRequestByContextId(request, contextId);
    return this.moduleRef.resolve(wrapper.metatype as never, contextId, { strict: false });
  }
}

/** Throws a BroadcastConfigError naming every pair of handlers whose patterns match the same channels. */
function refuseEquivalent(entries: Entry[]): void {
  const byShape = new Map<string, Entry>();
  const conflicts: string[] = [];
  for (const e of entries) {
    const first = byShape.get(e.pattern.shape);
    if (!first) byShape.set(e.pattern.shape, e);
    else {
      const same = first.pattern.source === e.pattern.source ? 'the same pattern' : 'equivalent patterns';
      conflicts.push(
        `${first.label} ('${first.pattern.source}') and ${e.label} ('${e.pattern.source}') authorize ${same} (${e.pattern.shape} once parameter names are erased)`,
      );
    }
  }
  if (conflicts.length === 0) return;
  throw new BroadcastConfigError(
    '@ChannelAuth',
    `one authorizer per channel pattern: ${conflicts.join('; ')}. Keep one of each pair (patterns of different specificity, such as private-orders.{id} and private-orders.vip, may overlap: the most specific decides).`,
    true,
  );
}
