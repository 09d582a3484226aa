import { nodeOfSocket } from '../../names/socket-id.js';
import type { DriverNode } from '../../port/driver.interface.js';
import type { BroadcastEnvelope, ControlMessage } from '../../port/envelope.js';

/** What a cluster driver sends other nodes for one envelope (see {@link outbound}). */
export interface Outbound {
  /** The envelope, with a `cacheId` when one of its channels is a cache channel. */
  e: BroadcastEnvelope;
  /** Its body, encoded once: what travels on every channel. */
  body: string;
  /** Its recovery channels: the backend numbers their events, and every node delivers them from there. */
  numbered: string[];
  /** Sockets of other nodes, by node. */
  socketsByNode: Map<string, string[]>;
  /** The user or "everyone" part, for every node. */
  direct?: BroadcastEnvelope;
  /**
   * What this node delivers itself: every part but its recovery channels (this node's subscribers
   * get it even while the backend is down). The publisher delivers it right after handing the
   * messages for the other nodes to the backend's socket, so that the hop starts before this node's
   * own fan-out.
   */
  local?: BroadcastEnvelope;
}

/**
 * Says what of an envelope goes to the other nodes, and what this node delivers itself.
 * `cacheId` names this node's next cache-channel event (see BroadcastEnvelope.cacheId).
 */
export function outbound(envelope: BroadcastEnvelope, node: DriverNode, cacheId: () => string): Outbound {
  const event = (envelope.kind ?? 'event') === 'event';
  // Cache channels: the cached copy and the live one share an id.
  const e = event && envelope.channels.some(node.policy.isCached) ? { ...envelope, cacheId: cacheId() } : envelope;
  const { channels, socketIds, userIds, all, ...rest } = e;
  const numbered = event ? channels.filter(node.policy.isRecoverable) : [];
  let local: BroadcastEnvelope | undefined;
  if (numbered.length === 0) local = e;
  else if (numbered.length < channels.length || socketIds?.length || userIds?.length || all) {
    local = { ...e, channels: channels.filter((c) => !numbered.includes(c)) };
  }
  const socketsByNode = new Map<string, string[]>();
  for (const id of socketIds ?? []) {
    const owner = nodeOfSocket(id);
    if (owner === node.id) continue;
    const ids = socketsByNode.get(owner);
    if (ids) ids.push(id);
    else socketsByNode.set(owner, [id]);
  }
  const direct =
    userIds?.length || all ? { ...rest, channels: [], ...(userIds && { userIds }), ...(all && { all }) } : undefined;
  return { e, body: channels.length > 0 ? JSON.stringify(rest) : '', numbered, socketsByNode, direct, local };
}

/** A direct send to some sockets of one node: the envelope without its channels. */
export function toSockets(e: BroadcastEnvelope, socketIds: string[]): BroadcastEnvelope {
  const { channels: _, userIds: __, all: ___, ...rest } = e;
  return { ...rest, channels: [], socketIds };
}

/**
 * The node a control message is for: a socket lives on the node its id names; a user's sockets may
 * be anywhere (undefined: every node).
 */
export function controlOwner(message: ControlMessage): string | undefined {
  const socketId =
    message.op === 'terminate' || (message.op === 'unsubscribe' && message.userId) ? undefined : message.socketId;
  return socketId === undefined ? undefined : nodeOfSocket(socketId);
}
