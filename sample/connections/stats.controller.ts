import { Controller, Get } from '@nestjs/common';
import { ConnectionManager } from 'nestjs-broadcasting';

/** `GET /stats`: this node's connection figures (no auth: demo). */
@Controller('stats')
export class StatsController {
  constructor(private readonly connections: ConnectionManager) {}

  @Get()
  stats() {
    return {
      clients: this.connections.localClientCount(),
      channels: this.connections.localChannelCount(),
      announcements: this.connections.localSubscriberCount('announcements'),
    };
  }
}
