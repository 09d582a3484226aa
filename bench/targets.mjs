// The servers under test. Each description says how to start the server, how a client connects
// and subscribes, how to recognise an event frame, and how to publish. bench/run.mjs starts the
// servers; bench/load.mjs (the clients and the publisher) speaks their protocols.
//
// Client hooks, each given the bench client `c` ({ ws, channel, socketId, … }) and a frame's text
// (`c.ws` is a WebSocket, or with `transport: 'sse'` load.mjs's SSE stream, whose send() POSTs):
//   handshake(c, text) → true once subscribed (called for every frame until then; may send)
//   isEvent(text)      → whether a frame is a published event (cheap: runs for every delivery)
//   onOther(c, text)   → optional, for any other frame after the handshake (pings)
// Publish hooks return the HTTP request for one event or a batch: { path, body, headers? }.
import { createHash, createHmac } from 'node:crypto';

/** App credentials of the library server (and of the Pusher HTTP API). */
export const CREDENTIALS = { appId: 'bench-app', key: 'bench-key', secret: 'bench-secret' };

const json = (path, body) => ({ path, body: JSON.stringify(body) });
const benchApi = {
  one: (e) => json('/publish', e),
  batch: (events) => json('/publish/batch', { events }),
};

/** The library's native protocol (the raw ws servers speak it too). */
const native = {
  path: '/ws',
  handshake(c, text) {
    if (text.startsWith('{"type":"connected"')) {
      c.socketId = JSON.parse(text).socket_id;
      c.ws.send(JSON.stringify({ type: 'subscribe', channel: c.channel, ...c.subscribeExtra?.(c) }));
      return false;
    }
    if (text.startsWith('{"type":"subscribed"')) {
      c.subscribed = JSON.parse(text);
      return true;
    }
    throw new Error(`unexpected frame while subscribing: ${text.slice(0, 200)}`);
  },
  isEvent: (text) => text.startsWith('{"type":"event"'),
};

const hmac = (data) => createHmac('sha256', CREDENTIALS.secret).update(data).digest('hex');

/** auth + channel_data of a presence subscription: the client signs its own token (it knows the secret). */
function presenceAuth(c) {
  const channelData = JSON.stringify({ user_id: c.userId, user_info: { name: `user ${c.userId}` } });
  return { auth: `${CREDENTIALS.key}:${hmac(`${c.socketId}:${c.channel}:${channelData}`)}`, channel_data: channelData };
}

/**
 * The native protocol over Server-Sent Events (docs/protocol.md): the same hooks, over a `GET
 * /ws/sse` stream whose `c.ws.send()` is a `POST /ws/sse` (load.mjs takes the stream's token from
 * its `connected` message).
 */
const nativeSse = { ...native, transport: 'sse', path: '/ws/sse' };

/** Presence on the native protocol. */
const nativePresence = {
  subscribeExtra: presenceAuth,
  /** User ids in the `subscribed` reply. */
  members: (subscribed) => subscribed.members.map((m) => m.user_id),
  /** ['added' | 'removed', userId] for a member frame, else undefined. */
  memberFrame(text) {
    if (text.startsWith('{"type":"member_added"')) return ['added', JSON.parse(text).user_id];
    if (text.startsWith('{"type":"member_removed"')) return ['removed', JSON.parse(text).user_id];
    return undefined;
  },
};

/** Pusher HTTP API request signing (auth_version 1.0). */
function pusherRequest(path, bodyObject) {
  const body = JSON.stringify(bodyObject);
  const params = {
    auth_key: CREDENTIALS.key,
    auth_timestamp: String(Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    body_md5: createHash('md5').update(body).digest('hex'),
  };
  const query = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  const signature = hmac(`POST\n${path}\n${query}`);
  return { path: `${path}?${query}&auth_signature=${signature}`, body };
}
const pusherUserId = (text) => JSON.parse(JSON.parse(text).data).user_id;
const pusherEvent = (e) => ({ name: e.event, channel: e.channel, data: JSON.stringify(e.data) });
/** The library's server-side API: the signed Pusher HTTP API, one event per request or 10 per batch. */
const pusherApi = {
  one: (e) => pusherRequest(`/apps/${CREDENTIALS.appId}/events`, pusherEvent(e)),
  batch: (events) => pusherRequest(`/apps/${CREDENTIALS.appId}/batch_events`, { batch: events.map(pusherEvent) }),
};

export const SERVERS = [
  {
    name: 'library',
    label: 'nestjs-broadcasting, native protocol',
    script: 'servers/library.mjs',
    client: native,
    // Published through the library's own server-side API, the Pusher HTTP API (as backends do).
    publish: pusherApi,
    presence: nativePresence,
  },
  {
    // The same server and publish path as `library`; its clients are SSE streams, not WebSockets.
    name: 'library-sse',
    label: 'nestjs-broadcasting, native protocol over SSE',
    script: 'servers/library.mjs',
    client: nativeSse,
    publish: pusherApi,
    presence: nativePresence,
  },
  {
    // Opt-in, with BENCH_BASELINE=<another checkout, built>: the same server from that checkout (its
    // own dist/ and node_modules), side by side with this one in one run — a before/after.
    name: 'library-baseline',
    label: 'nestjs-broadcasting as built in $BENCH_BASELINE, native protocol',
    script: process.env.BENCH_BASELINE
      ? `${process.env.BENCH_BASELINE}/bench/servers/library.mjs`
      : 'servers/library.mjs',
    optIn: true,
    client: native,
    publish: pusherApi,
    presence: nativePresence,
  },
  {
    // Opt-in (--servers=library,library-redis): two nodes linked by Redis in one process; clients on
    // node B, publishes on node A, so every delivery crosses the Redis hop. Needs Redis on REDIS_URL.
    name: 'library-redis',
    label: 'nestjs-broadcasting, redis driver (publish on another node)',
    script: 'servers/library.mjs',
    args: ['redis'],
    optIn: true,
    client: native,
    publish: benchApi,
    presence: nativePresence,
  },
  {
    // Opt-in (--servers=library,library-recovery): every channel keeps history (recovery).
    name: 'library-recovery',
    label: 'nestjs-broadcasting, recovery on every channel',
    script: 'servers/library.mjs',
    args: ['recovery'],
    optIn: true,
    client: native,
    publish: benchApi,
  },
  {
    // Opt-in: recovery channels numbered in Redis (one Lua call per publish), clients on another node.
    name: 'library-redis-recovery',
    label: 'nestjs-broadcasting, redis driver + recovery',
    script: 'servers/library.mjs',
    args: ['redis', 'recovery'],
    optIn: true,
    client: native,
    publish: benchApi,
  },
  {
    // run.mjs probes the Pusher endpoint and HTTP API once, and skips this server (with a note)
    // when they do not answer.
    name: 'library-pusher',
    label: 'nestjs-broadcasting, Pusher protocol',
    script: 'servers/library.mjs',
    probe: true,
    client: {
      path: `/app/${CREDENTIALS.key}?protocol=7&client=js&version=8.6.0&flash=false`,
      handshake(c, text) {
        const m = JSON.parse(text);
        if (m.event === 'pusher:connection_established') {
          c.socketId = JSON.parse(m.data).socket_id;
          const data = { auth: '', channel: c.channel, ...c.subscribeExtra?.(c) };
          c.ws.send(JSON.stringify({ event: 'pusher:subscribe', data }));
          return false;
        }
        if (m.event === 'pusher_internal:subscription_succeeded') {
          c.subscribed = m;
          return true;
        }
        throw new Error(`unexpected frame while subscribing: ${text.slice(0, 200)}`);
      },
      isEvent: (text) => text.startsWith('{"event":"bench"'),
      onOther(c, text) {
        if (text.startsWith('{"event":"pusher:ping"')) c.ws.send('{"event":"pusher:pong","data":{}}');
      },
    },
    publish: pusherApi,
    presence: {
      subscribeExtra: presenceAuth,
      members: (subscribed) => JSON.parse(subscribed.data).presence.ids,
      memberFrame(text) {
        if (text.startsWith('{"event":"pusher_internal:member_added"')) return ['added', pusherUserId(text)];
        if (text.startsWith('{"event":"pusher_internal:member_removed"')) return ['removed', pusherUserId(text)];
        return undefined;
      },
    },
  },
  {
    name: 'ws-preframed',
    label: 'raw ws, pre-framed',
    script: 'servers/raw-ws.mjs',
    args: ['preframed'],
    client: native,
    publish: benchApi,
  },
  {
    name: 'ws-coalesced',
    label: 'raw ws, pre-framed + coalesced',
    script: 'servers/raw-ws.mjs',
    args: ['coalesced'],
    client: native,
    publish: benchApi,
  },
  {
    // The Node limit: a channel's frames of one event-loop turn joined once, one write per socket.
    name: 'ws-joined',
    label: 'raw ws, pre-framed + joined per channel and turn',
    script: 'servers/raw-ws.mjs',
    args: ['joined'],
    client: native,
    publish: benchApi,
  },
  {
    // The C++ reference: uWebSockets.js (npm package `uwebsockets`) and its own pub/sub. Probed
    // first: skipped with a note where the package has no binary for this platform and Node ABI.
    name: 'uwebsockets',
    peer: 'uwebsockets',
    label: 'uWebSockets.js pub/sub',
    script: 'servers/uws.mjs',
    probe: true,
    client: native,
    publish: benchApi,
  },
  {
    name: 'socketio',
    label: 'Socket.IO 4 rooms (websocket)',
    script: 'servers/socketio.mjs',
    // Engine.IO v4 / Socket.IO v5 framing by hand: 0{open} → 40 → 40{sid} → 42["subscribe",…].
    client: {
      path: '/socket.io/?EIO=4&transport=websocket',
      handshake(c, text) {
        if (text.startsWith('0{')) c.ws.send('40');
        else if (text.startsWith('40')) c.ws.send(`42${JSON.stringify(['subscribe', c.channel])}`);
        else if (text.startsWith('42["subscribed"')) return true;
        else if (text === '2') c.ws.send('3');
        else throw new Error(`unexpected frame while subscribing: ${text.slice(0, 200)}`);
        return false;
      },
      isEvent: (text) => text.startsWith('42["bench"'),
      onOther(c, text) {
        if (text === '2') c.ws.send('3'); // Engine.IO ping → pong
      },
    },
    publish: benchApi,
  },
  {
    name: 'naive-gateway',
    label: 'naive @WebSocketGateway (platform-ws)',
    script: 'servers/naive-gateway.mjs',
    client: {
      path: '/ws',
      handshake(_c, text) {
        if (text.startsWith('{"event":"subscribed"')) return true;
        throw new Error(`unexpected frame while subscribing: ${text.slice(0, 200)}`);
      },
      // No greeting frame: subscribe as soon as the socket is open.
      onOpen: (c) => c.ws.send(JSON.stringify({ event: 'subscribe', data: c.channel })),
      isEvent: (text) => text.startsWith('{"event":"bench"'),
    },
    publish: benchApi,
  },
];
