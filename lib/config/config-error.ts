/**
 * A configuration that cannot work, found at start-up: an option value that cannot be used (the
 * message names the option), or an app wired wrongly (`setupBroadcasting(app)` missing or late, two
 * `@ChannelAuth` for one pattern), where `option` names what to fix.
 * @publicApi
 */
export class BroadcastConfigError extends Error {
  /**
   * @param option the option (`path`, `redis.url`) or, for a wiring error, what to fix
   *   (`setupBroadcasting`, `@ChannelAuth`)
   * @param wiring a wiring error: the message is given as is, not as "invalid option"
   */
  constructor(
    readonly option: string,
    message: string,
    wiring = false,
  ) {
    super(wiring ? `nestjs-broadcasting: ${message}` : `nestjs-broadcasting: invalid option "${option}": ${message}`);
    this.name = 'BroadcastConfigError';
  }
}

/**
 * Why ioredis' `keyPrefix` is refused: it prefixes the keys a command names, not those the driver's
 * Lua scripts build from their arguments, so Redis would hold the driver's state under two prefixes.
 */
export const KEY_PREFIX_REFUSED =
  "ioredis' keyPrefix is not supported (the driver's scripts build keys it would not prefix, splitting the state); use redis.prefix instead";
