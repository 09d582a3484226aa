import { BadRequestException, Body, Controller, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { BROADCAST_OPTIONS, type BroadcastOptions, BroadcastService, ChannelAuth } from 'nestjs-broadcasting';
import type { DemoUser } from '../auth/demo-auth.guard.js';
import type { SampleEvents } from '../events.js';

@Controller('users')
export class UsersController {
  constructor(
    private readonly broadcast: BroadcastService<SampleEvents>,
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
  ) {}

  /**
   * `POST /users/:id/notify {title}` → `Notification {title}` on `private-user.{id}` and, with an
   * encryption master key configured, end-to-end encrypted on `private-encrypted-user.{id}`. No auth (demo).
   */
  @Post(':id/notify')
  @HttpCode(202)
  async notify(
    @Param('id') id: string,
    @Body() body: { title?: unknown } | undefined,
    @Headers('x-socket-id') socketId?: string,
  ) {
    const title = body?.title;
    if (typeof title !== 'string' || title.length === 0 || title.length > 200) {
      throw new BadRequestException('"title" must be a string of 1-200 characters');
    }
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new BadRequestException('bad user id');
    const encrypted = this.options.encryptionMasterKey ? [`private-encrypted-user.${id}`] : [];
    await this.broadcast
      .channel(`private-user.${id}`, ...encrypted)
      .event('Notification')
      .data({ title })
      .toOthers(socketId)
      .send();
    return { sent: true };
  }

  /** `private-user.{id}` (and its encrypted twin): only that user. A method authorizer on a controller. */
  @ChannelAuth('private-user.{id}')
  @ChannelAuth('private-encrypted-user.{id}')
  ownChannel(user: DemoUser, { id }: Record<string, string>): boolean {
    return user.id === id;
  }
}
