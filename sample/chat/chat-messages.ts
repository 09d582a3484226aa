import { Injectable, UseGuards, ValidationPipe } from '@nestjs/common';
import { ConnectedSocket, MessageBody, WsException } from '@nestjs/websockets';
import { IsString, Length, Matches } from 'class-validator';
import { type BroadcastClient, BroadcastService, OnClientMessage, SignedInUser, SocketId } from 'nestjs-broadcasting';
import { SignedInGuard } from '../auth/signed-in.guard.js';
import type { SampleEvents } from '../events.js';

/** `{"type":"chat.post","room":"lobby","text":"hi"}`: validated by the ValidationPipe below. */
export class ChatPostDto {
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'room must be 1-64 letters, digits, _ or -' })
  room!: string;

  @IsString()
  @Length(1, 500)
  text!: string;

  get channel(): string {
    return `presence-chat.${this.room}`;
  }
}

/**
 * A chat line posted through the server (the demo page's chat whispers instead): a signed-in member
 * of `presence-chat.{room}` posts, the other members get `ChatPosted`. Guarded and validated like any
 * Nest handler: anonymous → 403, a bad payload → 400 with the list of `errors`.
 */
@Injectable()
export class ChatMessages {
  constructor(private readonly broadcast: BroadcastService<SampleEvents>) {}

  @OnClientMessage('chat.post')
  @UseGuards(SignedInGuard)
  async post(
    @MessageBody(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }))
    post: ChatPostDto,
    @SignedInUser() userId: string,
    @SocketId() socketId: string,
    @ConnectedSocket() client: BroadcastClient,
  ) {
    const channel = post.channel;
    if (!client.channels.has(channel)) throw new WsException(`join ${channel} first`);
    await this.broadcast
      .channel(channel)
      .event('ChatPosted')
      .data({ userId, text: post.text })
      .toOthers(socketId)
      .send();
    return { posted: true };
  }
}
