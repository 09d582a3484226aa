import { AuthError, type Endpoints } from './endpoints.js';
import type { Listeners } from './listeners.js';
import type { ConnectionState } from './types.js';

/** What sign-in needs from its client (the client itself: `userId` is its public field). */
export interface SignInHost {
  readonly state: ConnectionState;
  readonly socketId: string | undefined;
  readonly generation: number;
  userId: string | undefined;
  send(frame: Record<string, unknown>): boolean;
}

/** `signIn()`: the user-auth token, the `signin` frame, its answer, and signing in again after each reconnect. */
export class SignIn {
  private wanted = false;
  private waiters: Array<{ resolve(id: string): void; reject(e: Error): void }> = [];

  constructor(
    private readonly host: SignInHost,
    private readonly endpoints: Endpoints,
    private readonly signedIn: Listeners<[string]>,
  ) {}

  /** Resolves with the user id once the server has signed this connection in. */
  start(): Promise<string> {
    this.wanted = true;
    const p = new Promise<string>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.host.state === 'connected') this.attempt();
    return p;
  }

  /** A new connection: sign in again if the app asked for it. */
  resume(): void {
    if (this.wanted) this.attempt();
  }

  /** The server's `signed_in`. */
  succeeded(userId: string): void {
    this.host.userId = userId;
    for (const w of this.waiters.splice(0)) w.resolve(userId);
    this.signedIn.emit(userId);
  }

  /** The server's `signin_error`. */
  refused(err: Error): void {
    this.reject(err, true);
  }

  /** The connection closed: the user id went with its socket id. */
  dropped(): void {
    this.host.userId = undefined;
    this.reject(new Error('connection closed'), false);
  }

  private attempt(): void {
    const socketId = this.host.socketId;
    const generation = this.host.generation;
    if (socketId === undefined) return;
    this.endpoints.userAuth(socketId).then(
      (body) => {
        if (generation !== this.host.generation) return;
        const b = body as { auth?: unknown; user_data?: unknown };
        if (typeof b.auth !== 'string' || typeof b.user_data !== 'string') {
          this.reject(new AuthError('the user-auth endpoint answered without "auth" and "user_data"', 200), true);
          return;
        }
        this.host.send({ type: 'signin', auth: b.auth, user_data: b.user_data });
      },
      (err: Error) => {
        if (generation === this.host.generation) this.reject(err, true);
      },
    );
  }

  /** `final`: the server or the endpoint refused, so it is not retried after reconnects. */
  private reject(err: Error, final: boolean): void {
    if (final) this.wanted = false;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
