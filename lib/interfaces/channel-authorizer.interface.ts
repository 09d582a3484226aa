/** What an authorizer learns besides the user and the pattern's parameters. @publicApi */
export interface ChannelAuthContext {
  /** The channel being joined, e.g. `private-orders.42`. */
  channel: string;
  /** The socket asking. */
  socketId: string;
  /** The HTTP request of the auth endpoint (Express or Fastify request). */
  request: unknown;
}

/**
 * `false` refuses; `true` allows; on presence channels an object is the member's `user_info`.
 * @publicApi
 */
export type ChannelAuthResult = boolean | Record<string, unknown> | null | undefined;

/**
 * A class decorated with @ChannelAuth implements this.
 * @publicApi
 */
export interface ChannelAuthorizer<User = unknown> {
  authorize(
    user: User,
    params: Record<string, string>,
    context: ChannelAuthContext,
  ): ChannelAuthResult | Promise<ChannelAuthResult>;
}
