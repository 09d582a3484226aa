import type { BroadcastEnvelope } from '../port/envelope.js';
import type { StreamPosition } from '../port/stream.js';

/** An event of a recovery channel, numbered by the cluster. */
export type NumberedEnvelope = BroadcastEnvelope & { position: StreamPosition };

/** What a node read of a channel's stream to fill a gap. */
export interface StreamRead {
  /** True when `events` are every event after the position asked for, in its epoch. */
  complete: boolean;
  events: NumberedEnvelope[];
}

/**
 * A gap read from what a driver found in its store after `after`: complete when the stored events
 * are exactly those after it, in the same epoch, with nothing missing at the start.
 */
export function gapRead(
  channel: string,
  after: StreamPosition,
  position: StreamPosition,
  entries: ReadonlyArray<{ offset: number; envelope: BroadcastEnvelope }>,
): StreamRead {
  const complete =
    position.epoch === after.epoch &&
    entries.length === position.offset - after.offset &&
    (entries.length === 0 || entries[0].offset === after.offset + 1);
  const events: NumberedEnvelope[] = entries.map(({ offset, envelope }) => ({
    ...envelope,
    channels: [channel],
    position: { epoch: position.epoch, offset },
  }));
  return { complete, events };
}

/** What the sequencer needs from the node. */
export interface SequencerLink {
  /** Delivers one event to this node's subscribers. */
  deliver(envelope: NumberedEnvelope): void;
  /** The stored events of `channel` after `after` (its epoch only), and whether they are all of them. */
  read(channel: string, after: StreamPosition): Promise<StreamRead>;
  /** Events of `channel` may be missing for this node's subscribers and cannot be delivered: tell them. */
  lost(channel: string): void;
}

interface Track {
  /** Epoch of the last event delivered; '' when a subscriber joined without a known position. */
  epoch: string;
  offset: number;
  /** The live connection's generation when this track was last known complete. */
  gen: number;
  /**
   * A subscriber's starting position, nothing delivered since: an event at or below it may still be
   * on its way (read and delivery travel on different connections), so it is not a duplicate yet.
   */
  seed: boolean;
  /** Live events held while a gap is read (in arrival order). */
  held?: NumberedEnvelope[];
}

/**
 * Keeps the live events of recovery channels gap-free on one node. Redis pub/sub loses what is
 * published while a node's subscriber connection is down; the offsets tell. Per channel the node
 * remembers the last offset it delivered: the next event must be the one after it (one comparison per
 * event). A gap is read from the stream and delivered first, in order, while later live events wait;
 * what is no longer held is reported (`lost`), never skipped silently. Events at or below the last
 * delivered offset are duplicates (a gap read delivered them) and dropped.
 *
 * Another epoch means the previous stream expired. Its tail was seen only if the connection stayed up
 * since the last event delivered (`generation` unchanged); otherwise, or when the node never knew a
 * position, subscribers are told (`lost`).
 */
export class LiveSequencer {
  private readonly tracks = new Map<string, Track>();
  /** Bumped by the driver whenever the connection carrying live events closes or becomes ready. */
  generation = 0;

  constructor(private readonly link: SequencerLink) {}

  /** One live event from the cluster. */
  accept(channel: string, e: NumberedEnvelope): void {
    const t = this.tracks.get(channel);
    if (t === undefined) {
      // Nobody here has a position to keep up with yet: this event starts the track.
      this.tracks.set(channel, {
        epoch: e.position.epoch,
        offset: e.position.offset,
        gen: this.generation,
        seed: false,
      });
      this.link.deliver(e);
      return;
    }
    if (t.held !== undefined) {
      t.held.push(e);
      return;
    }
    const { epoch, offset } = e.position;
    if (epoch === t.epoch) {
      if (offset === t.offset + 1) {
        t.offset = offset;
        t.gen = this.generation;
        t.seed = false;
        this.link.deliver(e);
      } else if (offset > t.offset) {
        this.fill(channel, t, e);
      } else if (t.seed) {
        this.link.deliver(e);
      }
      return;
    }
    const continuous = t.epoch !== '' && t.gen === this.generation;
    t.epoch = epoch;
    t.seed = false;
    t.gen = this.generation;
    if (continuous) {
      // Every event of the expired stream after the last one delivered would have come: none was missed.
      t.offset = 0;
      if (offset === 1) this.accept(channel, e);
      else this.fill(channel, t, e);
      return;
    }
    this.link.lost(channel);
    t.offset = offset - 1;
    this.accept(channel, e);
  }

  /**
   * A subscriber's position, read from the cluster after this node subscribed to the channel (`gen`:
   * the generation before it subscribed): the live events must follow it.
   */
  baseline(channel: string, p: StreamPosition, gen: number): void {
    const t = this.tracks.get(channel);
    if (t === undefined) this.tracks.set(channel, { epoch: p.epoch, offset: p.offset, gen, seed: true });
    else if (t.seed && t.held === undefined && t.epoch === p.epoch && p.offset < t.offset) {
      // Subscribes under way together: keep up with the one that is furthest behind.
      t.offset = p.offset;
      t.gen = Math.min(t.gen, gen);
    }
  }

  /** A subscriber joined without a position from the cluster (it was unreachable): no live event is vouched for. */
  unknown(channel: string): void {
    if (!this.tracks.has(channel))
      this.tracks.set(channel, { epoch: '', offset: 0, gen: this.generation, seed: false });
  }

  /** This node has no subscribers on the channel any more. */
  forget(channel: string): void {
    this.tracks.delete(channel);
  }

  /** Reads what is missing after the track's position and delivers it before the held live events. */
  private fill(channel: string, t: Track, first: NumberedEnvelope): void {
    t.held = [first];
    const gen = this.generation;
    const after = { epoch: t.epoch, offset: t.offset };
    const done = (read: StreamRead | undefined) => {
      if (this.tracks.get(channel) !== t) return;
      const held = t.held ?? [];
      t.held = undefined;
      t.seed = false;
      t.gen = gen;
      if (read?.complete) {
        for (const e of read.events) {
          if (e.position.epoch !== t.epoch || e.position.offset !== t.offset + 1) continue;
          t.offset = e.position.offset;
          this.link.deliver(e);
        }
      } else {
        this.link.lost(channel);
        // Go on from the first live event held; what came before it is not delivered.
        if (first.position.offset - 1 > t.offset) t.offset = first.position.offset - 1;
      }
      for (let i = 0; i < held.length; i++) {
        this.accept(channel, held[i]);
        // Another gap: the rest waits behind it, in order.
        const waiting = t.held as NumberedEnvelope[] | undefined;
        if (waiting !== undefined) {
          waiting.push(...held.slice(i + 1));
          return;
        }
      }
    };
    this.link.read(channel, after).then(done, () => done(undefined));
  }
}
