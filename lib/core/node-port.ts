import { isCacheChannel } from '../names/channel-name.js';
import type { ChannelPolicy, DriverNode } from '../port/driver.interface.js';
import type { ChannelFacts } from './channel-facts.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Control } from './control.js';
import type { Delivery } from './delivery.js';
import type { ReplayBudget } from './replay-budget.js';

/** The parts of this node a driver is given access to, through the port and nothing else. */
export interface NodeParts {
  id: string;
  registry: ChannelRegistry;
  delivery: Delivery;
  control: Control;
  facts: ChannelFacts;
  budget: ReplayBudget;
  cacheTtl: number;
  recoverable: ((channel: string) => boolean) | undefined;
  recovery: { size: number; ttl: number };
}

/** This node as a driver sees it (DriverNode, documented in docs/drivers.md). */
export function createNodePort(p: NodeParts): DriverNode {
  const recoverable = p.recoverable ?? (() => false);
  const policy: ChannelPolicy = {
    isCached: isCacheChannel,
    cacheTtl: p.cacheTtl,
    isRecoverable: recoverable,
    recovery: { size: p.recovery.size, ttl: p.recovery.ttl },
  };
  return {
    id: p.id,
    policy,
    report: p.facts,
    deliver: (envelope) => p.delivery.deliver(envelope),
    applyControl: (message) => p.control.apply(message),
    presence: (change) => p.delivery.presence(change),
    // The server asks: a replay of the channel within the budget's window is allowed again.
    lost: (channel) => p.delivery.resubscribe(channel, (client) => p.budget.allowAgain(client, channel)),
    localPresence: () => p.registry.presence(),
    holdsMember: (channel, userId) => p.registry.get(channel)?.members?.has(userId) === true,
  };
}
