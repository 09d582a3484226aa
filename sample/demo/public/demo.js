// The demo page's script, a plain ES module. Laravel Echo and pusher-js are the globals their
// browser bundles define (served by the sample from node_modules); the native client is the
// package's own build, served at /client/.
import { createClient } from '/client/index.js';

const $ = (id) => document.getElementById(id);

/** Appends a line to a list, newest last, keeping the last 50. */
function append(list, text, tag) {
  const li = document.createElement('li');
  if (tag) {
    const span = document.createElement('span');
    span.className = 'tag';
    span.textContent = tag;
    li.append(span);
  }
  li.append(text);
  list.append(li);
  while (list.children.length > 50) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

const config = await (await fetch('/demo/config')).json();

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const user = $('user').value.trim();
  const room = $('room').value.trim();
  $('login').hidden = true;
  $('app').hidden = false;
  $('whoami').textContent = `signed in as User ${user}`;
  $('room-name').textContent = room;
  startChat(user, room);
  startNative(user);
});

/** Chat, presence, typing and announcements through Laravel Echo on the Pusher protocol. */
function startChat(user, room) {
  const headers = { Authorization: `Bearer ${user}` };
  const echo = new window.Echo.default({
    broadcaster: 'pusher',
    key: config.key,
    cluster: '', // pusher-js 8 wants one; not used
    wsHost: location.hostname,
    wsPort: Number(location.port || 80),
    wssPort: Number(location.port || 443),
    forceTLS: location.protocol === 'https:',
    enabledTransports: ['ws', 'wss'],
    disableStats: true,
    authEndpoint: '/broadcasting/auth',
    auth: { headers },
    Pusher: window.Pusher,
  });
  const pusher = echo.connector.pusher;
  pusher.connection.bind('state_change', ({ current }) => {
    $('echo-state').textContent = current;
  });

  const me = `User ${user}`;
  const members = new Map();
  const renderMembers = () => {
    $('members').replaceChildren(
      ...[...members.keys()].sort().map((name) => {
        const li = document.createElement('li');
        li.textContent = name === me ? `${name} (you)` : name;
        return li;
      }),
    );
  };

  const typing = new Map();
  const renderTyping = () => {
    const names = [...typing.keys()];
    $('typing').textContent =
      names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
  };
  const stopTyping = (name) => {
    clearTimeout(typing.get(name));
    typing.delete(name);
    renderTyping();
  };

  const chat = echo
    .join(`chat.${room}`) // presence-chat.{room}: the sample's ChatAuthorizer lets any signed-in user in
    .here((list) => {
      members.clear();
      for (const m of list) members.set(m.name, m);
      renderMembers();
    })
    .joining((m) => {
      members.set(m.name, m);
      renderMembers();
      append($('messages'), `→ ${m.name} joined`);
    })
    .leaving((m) => {
      members.delete(m.name);
      stopTyping(m.name);
      renderMembers();
      append($('messages'), `← ${m.name} left`);
    })
    .listenForWhisper('typing', ({ name, typing: on }) => {
      if (!on) return stopTyping(name);
      clearTimeout(typing.get(name));
      typing.set(
        name,
        setTimeout(() => stopTyping(name), 3000),
      );
      renderTyping();
    })
    .listenForWhisper('message', ({ name, text }) => {
      stopTyping(name);
      append($('messages'), `${name}: ${text}`);
    })
    .error((e) => append($('messages'), `could not join: ${JSON.stringify(e)}`));

  // Whispers go to the others only, never back to the sender.
  let lastTyping = 0;
  $('text').addEventListener('input', () => {
    const now = Date.now();
    if (now - lastTyping < 1000) return; // the server allows 10 client events per second
    lastTyping = now;
    chat.whisper('typing', { name: me, typing: true });
  });
  $('say').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('text').value.trim();
    if (!text) return;
    chat.whisper('message', { name: me, text });
    append($('messages'), `${me}: ${text}`);
    $('text').value = '';
    lastTyping = 0;
  });

  echo.channel('announcements').listen('.Announcement', (e) => append($('announcements'), e.message, 'Announcement'));
  $('announce').addEventListener('submit', async (e) => {
    e.preventDefault();
    const message = $('announcement').value.trim();
    if (!message) return;
    // No X-Socket-ID header: the sender's own page gets the announcement too.
    const res = await fetch('/announcements', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    if (res.ok) $('announcement').value = '';
    else append($('announcements'), `refused: HTTP ${res.status}`);
  });
}

/** The typed native client: connection state and transport, public and private events, sign-in and an app request. */
function startNative(user) {
  const log = (text) => append($('native-log'), text);
  const client = createClient({
    url: `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${config.path}`,
    headers: { Authorization: `Bearer ${user}` },
    // The defaults, spelled out: after a drop the first reconnect waits a random 0–5 s (`spread`), so
    // that the clients of a restarting node do not all come back at once; then the back-off.
    reconnect: { spread: 5000, initialDelay: 1000, maxDelay: 30000, jitter: 0.5 },
  });
  client.on('state', (state) => {
    $('native-state').textContent = state;
  });
  client.on('connected', (socketId) => {
    $('native-socket').textContent = socketId;
  });
  // WebSocket, or Server-Sent Events where a proxy breaks WebSockets (the client falls back on its own).
  client.on('transport', (transport) => {
    $('native-transport').textContent = transport;
  });
  client.on('close', ({ code, willReconnect, delay }) =>
    log(`closed ${code}${willReconnect ? `, reconnecting in ${delay} ms` : ''}`),
  );
  client.on('error', ({ message }) => log(`error: ${message}`));

  client.channel('orders').listen('OrderShipped', (e) => log(`orders: order ${e.id} shipped`));
  client
    .channel(`private-user.${user}`)
    .listen('Notification', (n) => log(`private-user.${user}: ${n.title}`))
    .error((e) => log(`private-user.${user} refused: ${e.error}`));
  client.signIn().then(
    (id) => log(`signed in as user ${id}`),
    (err) => log(`sign-in failed: ${err.message}`),
  );

  // Orders 1-5 belong to users 1-5 in the sample; anyone may ship one (demo).
  const order = /^[1-5]$/.test(user) ? user : '1';
  $('ship').textContent = `Ship order #${order}`;
  $('ship').addEventListener('click', () => fetch(`/orders/${order}/ship`, { method: 'POST' }));
  $('ask').addEventListener('click', async () => {
    try {
      log(`whoami → ${JSON.stringify(await client.request('whoami'))}`);
    } catch (err) {
      log(`whoami failed: ${err.message}`);
    }
  });
}
