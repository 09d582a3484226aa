import type { Settings } from './options.js';
import type { ChannelAuthorization, ClientOptions, FetchLike } from './types.js';

/** The auth endpoint refused or failed; `status` is its HTTP status (0: no answer). */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** The two HTTP endpoints: channel authorization and the user sign-in token. */
export class Endpoints {
  private readonly fetchFn: FetchLike | undefined;

  constructor(
    private readonly options: ClientOptions,
    private readonly settings: Settings,
  ) {
    this.fetchFn = settings.fetch;
  }

  /** The token for a private or presence channel: from the `authorizer` option, or the auth endpoint. */
  async authorize(channel: string, socketId: string): Promise<ChannelAuthorization> {
    if (this.options.authorizer) return this.options.authorizer(channel, socketId);
    const body = await this.post(this.settings.authUrl, { socket_id: socketId, channel_name: channel });
    const a = body as Partial<ChannelAuthorization>;
    if (typeof a.auth !== 'string' || (a.channel_data !== undefined && typeof a.channel_data !== 'string')) {
      throw new AuthError('the auth endpoint answered without an "auth" string', 200);
    }
    return a.channel_data === undefined ? { auth: a.auth } : { auth: a.auth, channel_data: a.channel_data };
  }

  /** The user-auth endpoint's answer, unchecked (sign-in checks it). */
  userAuth(socketId: string): Promise<unknown> {
    return this.post(this.settings.userAuthUrl, { socket_id: socketId });
  }

  private async post(url: string, body: Record<string, string>): Promise<unknown> {
    if (!this.fetchFn) throw new AuthError('no fetch: pass the fetch option', 0);
    const h = this.options.headers;
    const headers = typeof h === 'function' ? await h() : (h ?? {});
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify(body),
        credentials: this.options.credentials ?? 'same-origin',
      });
    } catch (err) {
      throw new AuthError(`${url}: ${(err as Error)?.message ?? String(err)}`, 0);
    }
    if (!res.ok) throw new AuthError(`${url} answered HTTP ${res.status}`, res.status);
    try {
      return await res.json();
    } catch {
      throw new AuthError(`${url} answered something that is not JSON`, res.status);
    }
  }
}
