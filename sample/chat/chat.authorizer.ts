import { Injectable } from '@nestjs/common';
import { ChannelAuth } from 'nestjs-broadcasting';
import type { DemoUser } from '../auth/demo-auth.guard.js';
import type { ChatMemberInfo } from '../events.js';

/** `presence-chat.{room}`: any signed-in user, shown by name. */
@Injectable()
export class ChatAuthorizer {
  @ChannelAuth('presence-chat.{room}')
  join(user: DemoUser): ChatMemberInfo {
    return { name: user.name };
  }
}
