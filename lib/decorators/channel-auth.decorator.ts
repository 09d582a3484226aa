import { compileChannelPattern } from '../names/channel-pattern.js';

export const CHANNEL_AUTH_METADATA = 'nestjs-broadcasting:channel-auth';

/**
 * Marks who may join private and presence channels matching `pattern`
 * (`private-orders.{id}`, `presence-chat.<room>`, or `orders.{id}` for both types).
 *
 * - On a class: the class is an authorizer and its `authorize(user, params, context)` decides.
 * - On a method of any provider or controller: that method decides, with the same arguments.
 *
 * Stackable: one class or method may carry several patterns. Return `false` to refuse, `true` to
 * allow, or (presence) the member's info object.
 * @publicApi
 */
export function ChannelAuth(pattern: string): ClassDecorator & MethodDecorator {
  compileChannelPattern(pattern); // a bad pattern fails where it is written
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = descriptor ? descriptor.value : target;
    const existing: string[] = Reflect.getOwnMetadata(CHANNEL_AUTH_METADATA, holder) ?? [];
    Reflect.defineMetadata(CHANNEL_AUTH_METADATA, [...existing, pattern], holder);
  };
}
