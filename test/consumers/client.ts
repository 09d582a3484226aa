import { connected, once, Pusher } from '../helpers/pusher-clients.js';
import type { RunningConsumer } from './harness.js';

/** What a consumer app must do for its users: one event received, one private channel allowed, one refused. */
export interface Roundtrip {
  /** The event the app broadcast, as the subscriber of `orders` received it. */
  received: unknown;
  /** What the owner's subscription to `private-orders.1` ended with. */
  owner: 'subscribed' | 'refused';
  /** What another user's subscription to `private-orders.1` ended with. */
  stranger: 'subscribed' | 'refused';
}

/**
 * Drives a consumer app with pusher-js as a Laravel Echo front end would: subscribes to the public
 * `orders` channel, asks the app (`POST <prefix>/orders/1/ship`) to broadcast, and tries
 * `private-orders.1` as its owner (user 1) and as user 2, authorized at `<prefix>/broadcasting/auth`.
 */
export async function roundtrip(app: RunningConsumer, prefix = ''): Promise<Roundtrip> {
  const client = (userId: string) =>
    new Pusher('app-key', {
      cluster: '',
      wsHost: '127.0.0.1',
      wsPort: app.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      channelAuthorization: {
        endpoint: `${app.http}${prefix}/broadcasting/auth`,
        transport: 'ajax',
        headers: { Authorization: `Bearer ${userId}` },
      },
    });
  const owner = client('1');
  const stranger = client('2');
  try {
    await Promise.all([connected(owner), connected(stranger)]);
    const orders = owner.subscribe('orders');
    await once(orders, 'pusher:subscription_succeeded');
    const event = once(orders, 'OrderShipped');
    const res = await fetch(`${app.http}${prefix}/orders/1/ship`, { method: 'POST' });
    if (!res.ok) throw new Error(`POST ${prefix}/orders/1/ship answered ${res.status}: ${await res.text()}`);
    const outcome = (p: Pusher) => {
      const ch = p.subscribe('private-orders.1');
      return Promise.race([
        once(ch, 'pusher:subscription_succeeded').then(() => 'subscribed' as const),
        once(ch, 'pusher:subscription_error').then(() => 'refused' as const),
      ]);
    };
    const [received, ownerOutcome, strangerOutcome] = await Promise.all([event, outcome(owner), outcome(stranger)]);
    return { received, owner: ownerOutcome, stranger: strangerOutcome };
  } finally {
    owner.disconnect();
    stranger.disconnect();
  }
}
