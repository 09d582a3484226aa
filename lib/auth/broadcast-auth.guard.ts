import { type CanActivate, type ExecutionContext, Inject, Injectable, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import type { BroadcastOptions } from '../broadcast.options.js';
import { BROADCAST_OPTIONS } from '../constants.js';

/** Runs the guards given in `auth.guards` on the broadcasting auth routes, in order. */
@Injectable()
export class BroadcastAuthGuard implements CanActivate {
  private instances?: CanActivate[];

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    this.instances ??= await Promise.all(this.options.auth.guards.map((g) => this.instantiate(g)));
    for (const guard of this.instances) {
      const r = guard.canActivate(context);
      const ok = isObservable(r) ? await lastValueFrom(r) : await r;
      if (!ok) return false;
    }
    return true;
  }

  private async instantiate(guard: CanActivate | Type<CanActivate>): Promise<CanActivate> {
    if (typeof guard !== 'function') return guard;
    try {
      return this.moduleRef.get(guard, { strict: false });
    } catch {
      return this.moduleRef.create(guard);
    }
  }
}
