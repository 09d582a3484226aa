import 'reflect-metadata';
import { createSampleApp } from './bootstrap.js';

const port = Number(process.env.PORT ?? 3000);
const app = await createSampleApp();
await app.listen(port);
// The [Broadcast] log line above names the WebSocket and auth paths.
console.log(`nestjs-broadcasting sample on http://localhost:${port}`);
