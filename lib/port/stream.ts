/** Where an event sits in its channel's stream. @publicApi */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** One stored event of a recovery channel. @publicApi */
export interface HistoryEntry {
  offset: number;
  /** Milliseconds timestamp when it was stored. */
  at: number;
  event: string;
  /** The payload as JSON text. */
  json: string;
  /** HTTP API payload exactly as received (Pusher clients get it verbatim). */
  raw?: string;
}

/** What a resume finds: the current position, whether the gap is fully held, and the missed events. @publicApi */
export interface Recovery {
  position: StreamPosition;
  recovered: boolean;
  entries: HistoryEntry[];
}

/** The last event of a cache channel, with the seconds it is still kept. @publicApi */
export interface CachedEvent {
  event: string;
  json: string;
  raw?: string;
  /** Its cacheId (see BroadcastEnvelope.cacheId): the same event held live is not sent again. */
  id?: string;
  ttl: number;
}
