import type { BroadcastDriver, DriverNode } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';

/** One node: deliver in-process, synchronously, in publish order. */
export class LocalDriver implements BroadcastDriver {
  readonly servesConnections = true;
  private node?: DriverNode;

  attach(node: DriverNode): void {
    this.node = node;
  }

  publish(envelope: BroadcastEnvelope): void {
    this.node?.deliver(envelope);
  }
}
