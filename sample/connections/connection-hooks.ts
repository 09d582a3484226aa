import type { IncomingMessage } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { type BroadcastClient, OnClientConnect, OnClientDisconnect, OnClientMessage } from 'nestjs-broadcasting';

/** App code on the WebSocket connection: connect/disconnect hooks and two app message types. */
@Injectable()
export class ConnectionHooks {
  private readonly logger = new Logger('SampleConnections');
  /** Recent connects/disconnects, newest last (a demo of what hooks can do). */
  readonly log: string[] = [];

  @OnClientConnect()
  connected(client: BroadcastClient, request: IncomingMessage) {
    if (new URL(request.url ?? '/', 'http://x').searchParams.get('reject') === '1') {
      throw new Error('refused by the app');
    }
    this.remember(`connect ${client.id}`);
  }

  @OnClientDisconnect()
  disconnected(client: BroadcastClient, code: number) {
    this.remember(`disconnect ${client.id} ${code}`);
  }

  /** `{"type":"whoami"}` → reply with this connection's identity. */
  @OnClientMessage('whoami')
  whoami(client: BroadcastClient) {
    return { socket_id: client.id, user_id: client.userId ?? null, channels: [...client.channels] };
  }

  /** `{"type":"echo","text":"…","ref":1}` → reply with the text; a missing text is the client's error. */
  @OnClientMessage('echo')
  async echo(_client: BroadcastClient, message: { text?: unknown }) {
    if (typeof message.text !== 'string') throw new WsException('echo needs a string "text"');
    if (message.text === 'crash') throw new Error('an app bug, with internal details');
    return { text: message.text };
  }

  private remember(line: string) {
    this.log.push(line);
    if (this.log.length > 100) this.log.shift();
    this.logger.debug(line);
  }
}
