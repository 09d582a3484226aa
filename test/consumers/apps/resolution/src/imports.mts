// Both entry points, a value and a type from each: compiled under each tsconfig.<resolution>.json.
import { BroadcastModule, type BroadcastModuleOptions } from 'nestjs-broadcasting';
import { createClient, type EventMapOf } from 'nestjs-broadcasting/client';

export const entries = [BroadcastModule.forRoot, createClient] as const;
export type Options = BroadcastModuleOptions['driver'];
export type Events = EventMapOf<{ broadcastAs(): 'Shipped'; broadcastWith(): { id: string } }>;
export const shipped: Events['Shipped'] = { id: '1' };
