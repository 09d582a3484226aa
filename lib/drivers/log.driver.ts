import { Logger } from '@nestjs/common';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';

/** Logs each broadcast (channels, event, payload size) and delivers nothing. */
export class LogDriver implements BroadcastDriver {
  readonly servesConnections = false;
  private readonly logger = new Logger('Broadcast');
  publish(e: BroadcastEnvelope): void {
    this.logger.log(describeEnvelope(e));
  }
}

/** Drops every broadcast. */
export class NullDriver implements BroadcastDriver {
  readonly servesConnections = false;
  publish(): void {}
}

/** `OrderShipped on orders, private-orders.1 (23 bytes)`: targets and payload size, never the payload. */
export function describeEnvelope(e: BroadcastEnvelope): string {
  const size =
    e.binary !== undefined
      ? Buffer.from(e.binary, 'base64').length
      : Buffer.byteLength(e.raw ?? JSON.stringify(e.data) ?? 'null');
  const targets = [
    ...(e.channels.length > 0 ? [`on ${e.channels.join(', ')}`] : []),
    ...(e.userIds?.length ? [`to users ${e.userIds.join(', ')}`] : []),
    ...(e.socketIds?.length ? [`to sockets ${e.socketIds.join(', ')}`] : []),
    ...(e.all ? ['to everyone'] : []),
  ];
  const name = e.kind === 'raw' ? 'raw frame' : e.kind === 'whisper' ? `whisper ${e.event}` : e.event;
  const except = e.except !== undefined ? `, except ${e.except}` : '';
  return `${name} ${targets.join(' and ')}${except} (${size} bytes)`;
}
