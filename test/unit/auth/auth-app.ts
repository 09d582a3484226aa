import type { INestApplication, LoggerService, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  BroadcastModule,
  type BroadcastModuleOptions,
  ChannelAuthService,
  setupBroadcasting,
} from 'nestjs-broadcasting';
import { listenOnLoopback } from '../../helpers/app.js';

/** The credentials every app of these specs signs with (not the development ones: no warning). */
export const KEY = 'unit-key';
export const SECRET = 'unit-secret-9f3c2a';

export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  context?: string;
  message: string;
}

/** Every line Nest's Logger writes, with its level and context. */
export class LogLines implements LoggerService {
  readonly all: LogLine[] = [];
  log(message: unknown, context?: string) {
    this.push('log', message, context);
  }
  error(message: unknown, ...rest: unknown[]) {
    // Nest passes (message, stack?, context): the context is the last argument.
    this.push('error', message, rest.at(-1) as string | undefined);
  }
  warn(message: unknown, context?: string) {
    this.push('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.push('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.push('verbose', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.push('fatal', message, context);
  }
  private push(level: LogLine['level'], message: unknown, context?: string) {
    this.all.push({ level, context, message: String(message) });
  }

  /** The lines of the ChannelAuth context since the last call, as `level message`; forgets them. */
  take(): string[] {
    const lines = this.all.filter((l) => l.context === 'ChannelAuth').map((l) => `${l.level} ${l.message}`);
    this.all.length = 0;
    return lines;
  }
}

export interface AuthApp {
  app: INestApplication;
  auth: ChannelAuthService;
  logs: LogLines;
  /** Base URL when started with `listen`. */
  http: string;
  close(): Promise<void>;
}

/**
 * A real Nest app of BroadcastModule.forRoot (signing with KEY/SECRET) and these providers, with
 * every log line kept; initialized, or listening on a loopback port with `listen`.
 */
export async function bootAuth(
  options: BroadcastModuleOptions = {},
  providers: Provider[] = [],
  listen = false,
): Promise<AuthApp> {
  const logs = new LogLines();
  const moduleRef = await Test.createTestingModule({
    imports: [BroadcastModule.forRoot({ key: KEY, secret: SECRET, ...options })],
    providers,
  })
    .setLogger(logs)
    .compile();
  const app = moduleRef.createNestApplication();
  setupBroadcasting(app);
  let http = '';
  if (listen) http = (await listenOnLoopback(app)).http;
  else await app.init();
  return { app, auth: app.get(ChannelAuthService), logs, http, close: () => app.close() };
}
