import { BroadcastConfigError } from '../config/config-error.js';
import type { BroadcastOptions } from '../config/options.interface.js';
import { driverServesConnections } from '../config/serves-connections.js';

/** Where the call goes, as the messages below show it. */
const EXAMPLE = [
  '',
  '  const app = await NestFactory.create(AppModule); // or: moduleRef.createNestApplication() in a test',
  '  setupBroadcasting(app);',
  '',
].join('\n');

/** The app reached init() (or listen()) without setupBroadcasting(app). */
export function setupMissing(options: BroadcastOptions): BroadcastConfigError {
  const driver = typeof options.driver === 'string' ? `"${options.driver}"` : 'custom';
  const orServeNothing = driverServesConnections(options.driver)
    ? ''
    : ` Or, since the ${driver} driver serves no WebSocket connections, pass serveConnections: false to BroadcastModule.forRootAsync and no setupBroadcasting(app) is needed.`;
  return new BroadcastConfigError(
    'setupBroadcasting',
    'setupBroadcasting(app) was not called: the broadcasting gateway has no WebSocket adapter (without one, Nest ' +
      'would look for @nestjs/platform-socket.io and exit). Call it right after NestFactory.create / ' +
      `createNestApplication(), before app.listen() / app.init():\n${EXAMPLE}${orServeNothing}`,
    true,
  );
}

/** setupBroadcasting(app) after init(): Nest has chosen the WebSocket adapter already. */
export function setupTooLate(): BroadcastConfigError {
  return new BroadcastConfigError(
    'setupBroadcasting',
    'setupBroadcasting(app) was called after the app was initialized; it must run before app.listen() / ' +
      `app.init(), which connect the WebSocket gateways:\n${EXAMPLE}  await app.listen(3000);\n`,
    true,
  );
}

/** The app installed another adapter (WsAdapter, IoAdapter) where BroadcastWsAdapter belongs. */
export function foreignAdapter(adapter: object): BroadcastConfigError {
  const name = adapter.constructor?.name || 'another adapter';
  return new BroadcastConfigError(
    'setupBroadcasting',
    `the app's WebSocket adapter is ${name} (app.useWebSocketAdapter), but the broadcasting gateway needs ` +
      'BroadcastWsAdapter, which setupBroadcasting(app) installs: it gives the gateway its path, the Pusher ' +
      "endpoint and its limits. It also serves the app's other @WebSocketGateway gateways as WsAdapter does, so " +
      'remove app.useWebSocketAdapter(…) or call setupBroadcasting(app) after it. A Socket.IO gateway cannot ' +
      'share it: see docs/migrating-from-socket-io.md.',
    true,
  );
}
