import 'reflect-metadata';
import { createSampleApp } from './bootstrap.js';

const port = Number(process.env.PORT ?? 3000);
const app = await createSampleApp();
await app.listen(port);
console.log(
  `nestjs-broadcasting sample on http://localhost:${port} (native WebSocket at ws://localhost:${port}${process.env.BROADCAST_PATH ?? '/ws'})`,
);
