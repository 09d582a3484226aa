import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

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
    const { metatype } = wrapper;
    if (!metatype || typeof metatype !== 'function' || wrapper.isAlias || seen.has(metatype)) continue;
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
): Array<{ wrapper: InstanceWrapper; metadata: M; name: string }> {
  const found: Array<{ wrapper: InstanceWrapper; metadata: M; name: string }> = [];
  const seen = new Set<unknown>();
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const { metatype } = wrapper;
    if (!metatype || typeof metatype !== 'function' || wrapper.isAlias || seen.has(metatype)) continue;
    seen.add(metatype);
    const metadata: M | undefined = Reflect.getMetadata(key, metatype);
    if (metadata !== undefined) found.push({ wrapper, metadata, name: metatype.name });
  }
  return found;
}
