import 'reflect-metadata';
import { createSampleApp } from './bootstrap.js';

const port = Number(process.env.PORT ?? 3000);
const app = await createSampleApp();
// No backlog here: setupBroadcasting made the server listen with the `backlog` option's accept
// queue (4096, BROADCAST_BACKLOG; Node's own is 511), so that clients coming back all at once after
// a node went down are not dropped by the kernel (docs/connections.md#the-listen-backlog-backlog).
await app.listen(port);
// The [Broadcast] log line above names the WebSocket and auth paths.
console.log(`nestjs-broadcasting sample on http://localhost:${port}`);
