import { createHash, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';

/** The 32-byte master key from its base64 form, or undefined when it is not one. */
export function parseMasterKey(base64: string): Buffer | undefined {
  const key = Buffer.from(base64, 'base64');
  return key.length === 32 && key.toString('base64').replace(/=+$/, '') === base64.replace(/=+$/, '') ? key : undefined;
}

/** The channel's key: SHA-256(channel name ‖ master key) (Pusher reference §4). */
export function channelSharedSecret(channel: string, masterKey: Buffer): Buffer {
  return createHash('sha256')
    .update(Buffer.concat([Buffer.from(channel), masterKey]))
    .digest();
}

/**
 * Encrypts a payload for an encrypted channel as Pusher's server SDKs do: NaCl secretbox of the JSON
 * text with a random 24-byte nonce; the event's data is `{"nonce":b64,"ciphertext":b64}`.
 */
export function encryptPayload(channel: string, data: unknown, masterKey: Buffer): string {
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const message = Buffer.from(JSON.stringify(data) ?? 'null');
  const box = nacl.secretbox(message, nonce, channelSharedSecret(channel, masterKey));
  return JSON.stringify({ nonce: nonce.toString('base64'), ciphertext: Buffer.from(box).toString('base64') });
}
