import { Controller, Get, Param } from '@nestjs/common';
import { ConnectionManager, type PresenceMember } from 'nestjs-broadcasting';

/** `GET /stats`: this node's connection figures; `GET /stats/chat/:room`: who is in a chat room (no auth: demo). */
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

  /** The members of `presence-chat.{room}` across the cluster, `[{ id, info }]` as the browser client has them. */
  @Get('chat/:room')
  async chat(@Param('room') room: string): Promise<{ members: PresenceMember[] }> {
    return { members: await this.connections.clusterMembers(`presence-chat.${room}`) };
  }
}
