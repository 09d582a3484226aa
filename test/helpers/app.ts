import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { BroadcastModuleOptions } from 'nestjs-broadcasting';
import { createFixtureApp } from '../fixture/fixture.module.js';

export interface RunningApp {
  app: INestApplication;
  http: string;
  ws: string;
  close(): Promise<void>;
}

/** Boots the test fixture (test/fixture/) with these module options on a random loopback port. */
export async function startFixture(overrides: BroadcastModuleOptions = {}): Promise<RunningApp> {
  return listenOnLoopback(await createFixtureApp(overrides));
}

/** Starts an app on a random loopback port; returns its HTTP and WebSocket base URLs. */
export async function listenOnLoopback(app: INestApplication): Promise<RunningApp> {
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export async function postForm(url: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });
}

/** Asks the auth endpoint for a token and subscribes with it; returns the server's reply. */
export async function authorizeAndSubscribe(
  run: Pick<RunningApp, 'http'>,
  client: { socketId: string; subscribe(channel: string, extra?: Record<string, unknown>): Promise<unknown> },
  channel: string,
  userId: string,
) {
  const res = await postJson(
    `${run.http}/broadcasting/auth`,
    { socket_id: client.socketId, channel_name: channel },
    { authorization: `Bearer ${userId}` },
  );
  if (res.status !== 200) throw new Error(`auth ${channel} for ${userId}: HTTP ${res.status}`);
  const body = (await res.json()) as { auth: string; channel_data?: string };
  return client.subscribe(channel, { auth: body.auth, ...(body.channel_data && { channel_data: body.channel_data }) });
}

/** Signs a native client in as `userId` through POST /broadcasting/user-auth; returns the server's reply. */
export async function signIn(
  run: Pick<RunningApp, 'http'>,
  client: { socketId: string; request(frame: unknown): Promise<unknown> },
  userId: string,
) {
  const res = await postJson(
    `${run.http}/broadcasting/user-auth`,
    { socket_id: client.socketId },
    { authorization: `Bearer ${userId}` },
  );
  if (res.status !== 200) throw new Error(`user-auth for ${userId}: HTTP ${res.status}`);
  const body = (await res.json()) as { auth: string; user_data: string };
  return client.request({ type: 'signin', auth: body.auth, user_data: body.user_data });
}
