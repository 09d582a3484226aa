// What people write by hand: a @WebSocketGateway on @nestjs/platform-ws that keeps a Set of
// subscribed clients per channel and loops client.send(JSON.stringify(…)) over it.
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { decorateClass, decorateMethod, param, ready } from './common.mjs';

class NaiveGateway {
  /** channel name → subscribed clients */
  channels = new Map();

  subscribe(client, channel) {
    const subs = this.channels.get(channel) ?? new Set();
    this.channels.set(channel, subs.add(client));
    return { event: 'subscribed', data: channel };
  }

  handleDisconnect(client) {
    for (const [name, subs] of this.channels) {
      if (subs.delete(client) && subs.size === 0) this.channels.delete(name);
    }
  }

  broadcast(channel, event, data) {
    for (const client of this.channels.get(channel) ?? []) {
      if (client.readyState === 1) client.send(JSON.stringify({ event, channel, data }));
    }
  }
}
decorateClass(NaiveGateway, WebSocketGateway({ path: '/ws' }));
decorateMethod(
  NaiveGateway,
  'subscribe',
  SubscribeMessage('subscribe'),
  param(0, ConnectedSocket()),
  param(1, MessageBody()),
);

class PublishController {
  constructor(gateway) {
    this.gateway = gateway;
  }

  one(e) {
    this.gateway.broadcast(e.channel, e.event, e.data);
  }

  batch(body) {
    for (const e of body.events) this.gateway.broadcast(e.channel, e.event, e.data);
  }
}
decorateClass(PublishController, Controller('publish'), param(0, Inject(NaiveGateway)));
decorateMethod(PublishController, 'one', Post(), HttpCode(204), param(0, Body()));
decorateMethod(PublishController, 'batch', Post('batch'), HttpCode(204), param(0, Body()));

class BenchModule {}
decorateClass(BenchModule, Module({ providers: [NaiveGateway], controllers: [PublishController] }));

const app = await NestFactory.create(BenchModule, { logger: ['error'] });
app.useWebSocketAdapter(new WsAdapter(app));
await app.listen(0, '127.0.0.1');
ready(app.getHttpServer());
