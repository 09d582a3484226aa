/** A broadcast the app asked for that cannot be sent (bad channel or event name, unsupported target). @publicApi */
export class BroadcastError extends Error {
  override name = 'BroadcastError';
}
