// The baseline: a raw `ws` server speaking the library's native protocol (connected / subscribe /
// subscribed / event) with none of its features. Each event is serialized and framed once
// (ws's Sender.frame) and the same Buffer is written to every subscriber's net.Socket.
//   node raw-ws.mjs preframed   one socket write per event per subscriber
//   node raw-ws.mjs coalesced   a socket is corked on its first write in an event-loop turn and
//                               uncorked in a setImmediate: several events leave in one write
//   node raw-ws.mjs joined      the "Node limit": the frames a channel gets in one event-loop turn
//                               are joined into one Buffer once (in a setImmediate), and that Buffer
//                               is written once to each subscriber's socket (no cork needed)
import { createServer } from 'node:http';
import { Sender, WebSocketServer } from 'ws';
import { publishHandler, ready } from './common.mjs';

const mode = process.argv[2];
if (!['preframed', 'coalesced', 'joined'].includes(mode)) throw new Error(`raw-ws.mjs: unknown mode ${mode}`);
const coalesce = mode === 'coalesced';
const FRAME = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false };
/** channel name → subscribed sockets */
const channels = new Map();
let nextId = 1;

/** Sockets corked in this event-loop turn. */
const corked = [];
function uncorkAll() {
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/** joined: channel name → the frames published to it in this event-loop turn, in order. */
const pending = new Map();
/** joined: one write per subscriber socket per channel, of every frame of this turn joined once. */
function flushJoined() {
  for (const [channel, frames] of pending) {
    const subs = channels.get(channel);
    if (!subs) continue; // every subscriber left since the publish
    const joined = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    for (const ws of subs) if (ws.readyState === 1) ws._socket.write(joined);
  }
  pending.clear();
}

function publish(channel, event, data) {
  const subs = channels.get(channel);
  if (!subs) return;
  const text = `{"type":"event","event":${JSON.stringify(event)},"channel":${JSON.stringify(channel)},"data":${JSON.stringify(data)}}`;
  const parts = Sender.frame(Buffer.from(text), FRAME);
  const frame = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  if (mode === 'joined') {
    const frames = pending.get(channel);
    if (frames) frames.push(frame);
    else {
      if (pending.size === 0) setImmediate(flushJoined);
      pending.set(channel, [frame]);
    }
    return;
  }
  for (const ws of subs) {
    if (ws.readyState !== 1) continue;
    const socket = ws._socket;
    if (coalesce && socket.writableCorked === 0) {
      socket.cork();
      if (corked.push(socket) === 1) setImmediate(uncorkAll);
    }
    socket.write(frame);
  }
}

const server = createServer(publishHandler(publish));
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const mine = new Set();
  ws.send(`{"type":"connected","socket_id":"1.${nextId++}"}`);
  ws.on('message', (buf) => {
    const m = JSON.parse(buf.toString());
    if (m.type !== 'subscribe' || typeof m.channel !== 'string') return;
    const subs = channels.get(m.channel) ?? new Set();
    channels.set(m.channel, subs.add(ws));
    mine.add(m.channel);
    ws.send(`{"type":"subscribed","channel":${JSON.stringify(m.channel)}}`);
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    for (const name of mine) {
      const subs = channels.get(name);
      subs.delete(ws);
      if (subs.size === 0) channels.delete(name);
    }
  });
});
server.listen(0, '127.0.0.1', () => ready(server));
