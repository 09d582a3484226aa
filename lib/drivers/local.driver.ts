import type { BroadcastDriver, BroadcastEnvelope, EnvelopeSink } from './broadcast-driver.js';

/** One node: deliver in-process, synchronously, in publish order. */
export class LocalDriver implements BroadcastDriver {
  readonly servesConnections = true;
  constructor(private readonly sink: EnvelopeSink) {}
  publish(envelope: BroadcastEnvelope): void {
    this.sink.deliver(envelope);
  }
}
