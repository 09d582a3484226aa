import { Inject, Injectable } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_DRIVER, BROADCAST_OPTIONS } from '../constants.js';
import { encryptPayload, parseMasterKey } from '../crypto/encryption.js';
import { isEncrypted } from '../names/channel-name.js';
import { BroadcastError } from '../port/broadcast-error.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';

/**
 * Hands a finished broadcast to the driver: at once from `send()`, or from the queue's worker.
 * Encrypted channels each get their own ciphertext here (the key depends on the channel name), so
 * a queued broadcast waits in the queue as plain data and is encrypted when it is published.
 */
@Injectable()
export class EnvelopePublisher {
  private readonly masterKey?: Buffer;

  constructor(
    @Inject(BROADCAST_DRIVER) private readonly driver: BroadcastDriver,
    @Inject(BROADCAST_OPTIONS) options: BroadcastOptions,
  ) {
    this.masterKey = options.encryptionMasterKey ? parseMasterKey(options.encryptionMasterKey) : undefined;
  }

  /** Throws what publishing would throw before the driver is called (for a broadcast about to be queued). */
  check(envelope: BroadcastEnvelope): void {
    if (!this.masterKey && envelope.channels.some(isEncrypted)) {
      throw new BroadcastError(`broadcast "${envelope.event}": encrypted channels need the encryptionMasterKey option`);
    }
  }

  async publish(envelope: BroadcastEnvelope): Promise<void> {
    const encrypted = envelope.channels.filter(isEncrypted);
    if (encrypted.length === 0) {
      await this.driver.publish(envelope);
      return;
    }
    this.check(envelope);
    const key = this.masterKey as Buffer;
    const plain = envelope.channels.filter((c) => !isEncrypted(c));
    const sends: Array<void | Promise<void>> = [];
    if (plain.length > 0 || envelope.userIds) sends.push(this.driver.publish({ ...envelope, channels: plain }));
    for (const c of encrypted) {
      const { userIds: _u, data: _d, ...rest } = envelope;
      sends.push(this.driver.publish({ ...rest, channels: [c], raw: encryptPayload(c, envelope.data, key) }));
    }
    await Promise.all(sends);
  }
}
