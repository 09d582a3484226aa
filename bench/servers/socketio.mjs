// Socket.IO 4 rooms, WebSocket transport only. A client emits "subscribe" with a channel name, is
// joined to that room and gets "subscribed" back; a publish is io.to(channel).emit(event, data).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { publishHandler, ready } from './common.mjs';

const server = createServer();
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (channel) => {
    socket.join(channel);
    socket.emit('subscribed', channel);
  });
});
// Socket.IO answers its own /socket.io/ requests; everything else is the publish API.
const publish = publishHandler((channel, event, data) => io.to(channel).emit(event, data));
server.on('request', (req, res) => {
  if (!req.url.startsWith('/socket.io/')) publish(req, res);
});
server.listen(0, '127.0.0.1', () => ready(server));
