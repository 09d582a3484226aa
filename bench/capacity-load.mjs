// A load process of bench/capacity.mjs: raw `ws` clients of the native protocol (the lightest client,
// so that one process holds as many as its open-files limit allows), each subscribed to one channel.
// It records, for every event, when each of its clients received it.
//
// IPC (each request answered with a message of its type): 'connect' {port, count, channel,
// concurrency} → how many are subscribed and why the others failed; 'expect' {id} → arms the
// receipt record of event `id`; 'received' {id} → {count, first, median, last} receipt times (ms,
// epoch) once every client got it or `timeoutMs` passed; 'close'.
import WebSocket from 'ws';

process.on('disconnect', () => process.exit(0));
const now = () => performance.timeOrigin + performance.now();
const sockets = new Set(); // subscribed and open
const receipts = new Map(); // event id → receipt times
let waiter; // resolves when the awaited event reached every socket
const failures = {};

function open(port, channel) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false, skipUTF8Validation: true });
    let subscribed = false;
    const fail = (why) => {
      if (subscribed) return;
      failures[why] = (failures[why] ?? 0) + 1;
      subscribed = true; // settled
      ws.terminate();
      resolve(false);
    };
    const timer = setTimeout(() => fail('no subscription within 30 s'), 30_000);
    ws.on('error', (err) => fail(err.code ?? err.message.slice(0, 60)));
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (sockets.delete(ws))
        failures[`closed ${code} after subscribing`] = (failures[`closed ${code} after subscribing`] ?? 0) + 1;
      fail(`closed ${code}`);
    });
    ws.on('message', (buf) => {
      const text = buf.toString('latin1');
      if (text.startsWith('{"type":"event"')) {
        const f = JSON.parse(text);
        const id = (typeof f.data === 'string' ? JSON.parse(f.data) : f.data).id;
        const times = receipts.get(id);
        times?.push(now());
        if (times?.length >= sockets.size) waiter?.();
      } else if (text.startsWith('{"type":"connected"')) {
        ws.send(JSON.stringify({ type: 'subscribe', channel }));
      } else if (text.startsWith('{"type":"subscribed"') && !subscribed) {
        subscribed = true;
        clearTimeout(timer);
        sockets.add(ws);
        resolve(true);
      }
    });
  });
}

process.on('message', async (m) => {
  if (m.type === 'connect') {
    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < m.count) {
        next++;
        if (await open(m.port, m.channel)) ok++;
      }
    };
    await Promise.all(Array.from({ length: m.concurrency }, worker));
    process.send({ type: 'connect', subscribed: ok, open: sockets.size, failures });
  } else if (m.type === 'expect') {
    receipts.set(m.id, []);
    process.send({ type: 'expect' });
  } else if (m.type === 'received') {
    const times = receipts.get(m.id);
    if (times.length < sockets.size) {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, m.timeoutMs);
        waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      waiter = undefined;
    }
    const sorted = [...times].sort((a, b) => a - b);
    receipts.delete(m.id);
    process.send({
      type: 'received',
      count: sorted.length,
      first: sorted[0],
      median: sorted[Math.floor(sorted.length / 2)],
      last: sorted.at(-1),
    });
  } else if (m.type === 'close') {
    const all = [...sockets];
    sockets.clear();
    for (const ws of all) ws.terminate();
    process.send({ type: 'close' });
  }
});
