import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

/**
 * The class behind a provider or controller: its metatype or, for `useValue` and `useFactory`
 * providers (whose metatype is nothing, or the factory), the class of the instance they made; for a
 * plain object provided under a class token (a test's `overrideProvider(Authorizer).useValue({…})`),
 * that class, whose metadata then describes the object standing in for it.
 */
// biome-ignore lint/complexity/noBannedTypes: any class
function classOf(wrapper: InstanceWrapper): Function | undefined {
  if (!wrapper.isNotMetatype) return typeof wrapper.metatype === 'function' ? wrapper.metatype : undefined;
  const instance = wrapper.instance as object | null | undefined;
  if (instance === null || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) return undefined;
  const type = instance.constructor;
  if (type !== Object && type !== undefined) return type;
  return typeof wrapper.token === 'function' ? wrapper.token : undefined;
}

/** One decorated method found at bootstrap. */
export interface DecoratedMethod<M> {
  wrapper: InstanceWrapper;
  method: string;
  metadata: M;
  /** `Class.method`, for logs and errors. */
  label: string;
}

/**
 * Walks every provider and controller once (skipping aliases and repeated classes) and returns the
 * methods carrying `key` metadata, in discovery order — the way @nestjs/event-emitter's loader does.
 */
export function findDecoratedMethods<M>(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  key: string,
): DecoratedMethod<M>[] {
  const found: DecoratedMethod<M>[] = [];
  const seen = new Set<unknown>();
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const metatype = wrapper.isAlias ? undefined : classOf(wrapper);
    if (!metatype || seen.has(metatype)) continue;
    seen.add(metatype);
    const proto = metatype.prototype;
    if (!proto) continue;
    for (const method of scanner.getAllMethodNames(proto)) {
      const metadata: M | undefined = Reflect.getMetadata(key, proto[method]);
      if (metadata !== undefined) found.push({ wrapper, method, metadata, label: `${metatype.name}.${method}` });
    }
  }
  return found;
}

/** Classes (providers and controllers) carrying class-level `key` metadata. */
export function findDecoratedClasses<M>(
  discovery: DiscoveryService,
  key: string,
  // biome-ignore lint/complexity/noBannedTypes: any class
): Array<{ wrapper: InstanceWrapper; metadata: M; name: string; type: Function }> {
  // biome-ignore lint/complexity/noBannedTypes: any class
  const found: Array<{ wrapper: InstanceWrapper; metadata: M; name: string; type: Function }> = [];
  const seen = new Set<unknown>();
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const metatype = wrapper.isAlias ? undefined : classOf(wrapper);
    if (!metatype || seen.has(metatype)) continue;
    seen.add(metatype);
    const metadata: M | undefined = Reflect.getMetadata(key, metatype);
    if (metadata !== undefined) found.push({ wrapper, metadata, name: metatype.name, type: metatype });
  }
  return found;
}
