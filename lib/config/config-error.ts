/** A configuration value that cannot be used; the message names the option. @publicApi */
export class BroadcastConfigError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`nestjs-broadcasting: invalid option "${option}": ${message}`);
    this.name = 'BroadcastConfigError';
  }
}

/**
 * Why ioredis' `keyPrefix` is refused: it prefixes the keys a command names, not those the driver's
 * Lua scripts build from their arguments, so Redis would hold the driver's state under two prefixes.
 */
export const KEY_PREFIX_REFUSED =
  "ioredis' keyPrefix is not supported (the driver's scripts build keys it would not prefix, splitting the state); use redis.prefix instead";
