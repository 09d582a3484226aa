/** @publicApi */
export type ChannelType = 'public' | 'private' | 'presence';

const CHANNEL_NAME = /^[-a-zA-Z0-9_=@,.;]{1,200}$/;

/** Why a name is not a channel name, or undefined when it is one. */
export function channelNameError(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'channel name must be a non-empty string';
  if (name.length > 200) return 'channel name longer than 200 characters';
  if (name.charCodeAt(0) === 35 /* # */) return 'channel names starting with "#" are reserved';
  if (!CHANNEL_NAME.test(name)) return 'channel name may only contain letters, digits and -_=@,.;';
  return undefined;
}

/** Channel type by anchored prefix, as pusher-js decides it. */
export function channelType(name: string): ChannelType {
  if (name.startsWith('private-')) return 'private';
  if (name.startsWith('presence-')) return 'presence';
  return 'public';
}

/** Pusher's end-to-end encrypted channels. */
export const ENCRYPTED_PREFIX = 'private-encrypted-';

export const isEncrypted = (channel: string): boolean => channel.startsWith(ENCRYPTED_PREFIX);

/** Pusher's cache channels: `cache-`, `private-cache-`, `private-encrypted-cache-`, `presence-cache-`. */
export const isCacheChannel = (name: string): boolean => /^(?:private-encrypted-|private-|presence-)?cache-/.test(name);
