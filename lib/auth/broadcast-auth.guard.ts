import { type CanActivate, type ExecutionContext, Inject, Injectable, Scope, type Type } from '@nestjs/common';
import { ContextIdFactory, ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';

/** How to get a guard for one request: the same instance each time, or one per request (request scope). */
type GuardSource = { instance: CanActivate } | { perRequest: Type<CanActivate> };

/** Runs the guards given in `auth.guards` on the broadcasting auth routes, in order. */
@Injectable()
export class BroadcastAuthGuard implements CanActivate {
  private sources?: GuardSource[];

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    this.sources ??= await Promise.all(this.options.auth.guards.map((g) => this.source(g)));
    for (const source of this.sources) {
      const guard = 'instance' in source ? source.instance : await this.perRequest(source.perRequest, context);
      const r = guard.canActivate(context);
      const ok = isObservable(r) ? await lastValueFrom(r) : await r;
      if (!ok) return false;
    }
    return true;
  }

  /**
   * An instance given as is; a class registered as a provider: that provider (resolved per request
   * when it is request-scoped); any other class: created once, with its dependencies injected.
   */
  private async source(guard: CanActivate | Type<CanActivate>): Promise<GuardSource> {
    if (typeof guard !== 'function') return { instance: guard };
    let scope: Scope;
    try {
      scope = this.moduleRef.introspect(guard).scope;
    } catch {
      // Not a provider anywhere: created once, with its dependencies injected.
      return { instance: await this.moduleRef.create(guard) };
    }
    return scope === Scope.DEFAULT ? { instance: this.moduleRef.get(guard, { strict: false }) } : { perRequest: guard };
  }

  private perRequest(guard: Type<CanActivate>, context: ExecutionContext): Promise<CanActivate> {
    const request = context.switchToHttp().getRequest<object>();
    const contextId = ContextIdFactory.getByRequest(request);
    this.moduleRef.registerRequestByContextId(request, contextId);
    return this.moduleRef.resolve(guard, contextId, { strict: false });
  }
}
