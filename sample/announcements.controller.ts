import { BadRequestException, Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { BroadcastService } from 'nestjs-broadcasting';
import type { SampleEvents } from './events.js';

/** `POST /announcements {message}` → `Announcement {message}` on `announcements`. No auth (demo). */
@Controller('announcements')
export class AnnouncementsController {
  constructor(private readonly broadcast: BroadcastService<SampleEvents>) {}

  @Post()
  @HttpCode(202)
  async announce(@Body() body: { message?: unknown } | undefined, @Headers('x-socket-id') socketId?: string) {
    const message = body?.message;
    if (typeof message !== 'string' || message.length === 0 || message.length > 1000) {
      throw new BadRequestException('"message" must be a string of 1-1000 characters');
    }
    // Laravel Echo sends X-Socket-ID so that the sender's own socket is left out (toOthers).
    await this.broadcast.channel('announcements').event('Announcement').data({ message }).toOthers(socketId).send();
    return { sent: true };
  }
}
