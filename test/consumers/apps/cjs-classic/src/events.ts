// The event map shared with the front end (docs/client.md): `nestjs-broadcasting/client` resolves
// for a classic CommonJS app too (moduleResolution node10 reads typesVersions, not exports).
import type { EventMapOf } from 'nestjs-broadcasting/client';
import type { OrderShipped } from './order-shipped.event';

export type Events = EventMapOf<OrderShipped>;
