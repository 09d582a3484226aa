/**
 * Surviving mutants that no test can kill because the mutated code behaves the same: each with the
 * file, a piece of the original line, the replacement Stryker made, and why it is equivalent. An entry
 * may also pin the replaced code (`original`), where one line has several mutants with one replacement.
 * test/mutation/run.mjs counts them apart from the score's survivors.
 */
export const equivalent = [
  {
    file: 'lib/http/request-signature.ts',
    code: 'pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));',
    replacement: 'a[0] <= b[0]',
    reason: 'keys are unique (canonicalParams refuses repeats), so < and <= agree, and V8 sort only asks "< 0"',
  },
  {
    file: 'lib/http/request-signature.ts',
    code: 'pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));',
    replacement: 'a[0] >= b[0]',
    reason: 'keys are unique, so > and >= agree; V8 sort only asks "< 0"',
  },
  {
    file: 'lib/http/request-signature.ts',
    code: 'pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));',
    replacement: 'true',
    reason: 'only changes the 0 a comparison of two equal keys returns, and keys are unique',
  },
  {
    file: 'lib/http/request-signature.ts',
    code: 'pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));',
    replacement: 'false',
    reason: 'turns "after" (1) into "equal" (0), which V8 sort (it only asks "< 0") treats alike',
  },
  {
    file: 'lib/http/request-signature.ts',
    code: 'if (ts === null ||',
    replacement: 'false',
    reason: 'a null timestamp fails the regex as "null" and gets the same answer',
  },
  {
    file: 'lib/webhooks/receiver.ts',
    code: 'if (this.inflight.size === 0) return;',
    replacement: 'false',
    reason: 'with nothing on the wire allSettled([]) wins the race at once (false): no wait, no line, timer cleared',
  },
  {
    file: 'lib/webhooks/receiver.ts',
    code: 'Promise.allSettled([...this.inflight]).then(() => false),',
    replacement: '() => undefined',
    reason: 'late is only tested for truth (if (late)), and undefined is as false as false',
  },
  {
    file: 'lib/webhooks/receiver.ts',
    code: '} catch {',
    replacement: '{}',
    reason: "post's catch: only fetch (or building its arguments) throws, before status is set, so status is 0 already",
  },
  {
    file: 'lib/webhooks/webhooks.ts',
    code: 'this.enabled = new Set(w && w.urls.length > 0 ? (w.events ?? WEBHOOK_EVENTS) : []);',
    replacement: '["Stryker was here"]',
    reason: 'the set is only asked about WebhookEventNames, and without URLs there is no receiver to send to anyway',
  },
  {
    file: 'lib/webhooks/webhooks.ts',
    code: '}, this.options.webhooks?.delayMs ?? 3000);',
    replacement: 'this.options.webhooks.delayMs',
    reason: 'reached only for an enabled event, and events are enabled only when options.webhooks has URLs',
  },
  {
    file: 'lib/webhooks/webhooks.ts',
    code: 'this.timer = setTimeout(() => this.flush(), this.options.webhooks?.batchMs ?? 250);',
    replacement: 'this.options.webhooks.batchMs',
    reason: 'push only gets enabled events (emit checks, close pushes what emit delayed), so options.webhooks is set',
  },
  {
    file: 'lib/webhooks/webhooks.ts',
    code: 'if (this.batch.length > 0 && this.batchBytes + 1 + bytes > MAX_BATCH_BYTES) this.flush();',
    replacement: 'true',
    reason: 'flush() of an empty batch does nothing: the batch timer is only set while the batch holds events',
  },
  {
    file: 'lib/webhooks/webhooks.ts',
    code: 'if (this.batch.length > 0 && this.batchBytes + 1 + bytes > MAX_BATCH_BYTES) this.flush();',
    replacement: 'this.batch.length >= 0',
    reason: 'flush() of an empty batch does nothing: the batch timer is only set while the batch holds events',
  },
  {
    file: 'lib/webhooks/webhooks.ts',
    code: 'const pairKey = (e: WebhookEvent) =>',
    replacement: '"Stryker was here!"',
    reason: 'the stand-in for no user_id is the same on both sides of a lookup; member events always carry one',
  },
  {
    file: 'lib/auth/channel-auth.service.ts',
    code: "if (typeof channel !== 'string' || channelNameError(channel))",
    replacement: 'false',
    reason: 'channelNameError refuses a channel_name that is not a string itself, with the same 400',
  },
  {
    file: 'lib/auth/channel-auth.service.ts',
    code: "if (user === undefined || user === null || user === false) return deny(401, 'unauthenticated');",
    replacement: 'false',
    reason: 'the `user === null` test: userOf answers `user ?? undefined`, so the user is never null here',
  },
  {
    file: 'lib/core/channel-registry.ts',
    code: 'channel.memberOf?.set(client, member.userId);',
    replacement: 'channel.memberOf.set',
    reason: 'memberOf is made with members (presence channels only), and the line above returned without members',
  },
  {
    file: 'lib/core/channel-registry.ts',
    code: 'if (userId !== undefined && channel.members) {',
    replacement: 'userId !== undefined || channel.members',
    reason:
      'userId comes from memberOf, which exists exactly when members does; without a userId the block removes nothing',
  },
  {
    file: 'lib/core/channel-registry.ts',
    code: 'if (userId !== undefined && channel.members) {',
    replacement: 'true',
    reason:
      '(`userId !== undefined` → true) members exists whenever memberOf does; without a userId the block removes nothing',
  },
  {
    file: 'lib/core/channel-registry.ts',
    code: 'channel.memberOf?.delete(client);',
    replacement: 'channel.memberOf.delete',
    reason: 'the block is entered with a userId read from memberOf (or with members, made with it), so memberOf exists',
  },
  {
    file: 'lib/core/connection-index.ts',
    code: 'if (previous !== undefined) {',
    replacement: 'true',
    reason: 'users never has an undefined key (setUser returns before adding one): the block finds and deletes nothing',
  },
  {
    file: 'lib/core/connection-index.ts',
    code: 'const c = socketId === undefined ? undefined : this.clients.get(socketId);',
    replacement: 'false',
    reason: 'clients are keyed by their string ids: clients.get(undefined) is undefined as well',
  },
  {
    file: 'lib/core/cluster-subscriptions.ts',
    code: 'if (held?.some((m) => m !== RESUBSCRIBE && m.cacheId === id)) result.cached = undefined;',
    replacement: 'true',
    reason:
      '(`m !== RESUBSCRIBE` → true) RESUBSCRIBE has no cacheId and id is defined here, so `m.cacheId === id` rejects it alike',
  },
  {
    file: 'lib/recovery/sequencer.ts',
    code: 'const held = t.held ?? [];',
    replacement: '["Stryker was here"]',
    reason:
      'done runs once per fill, and t.held is set by fill and cleared only by that done: it is never undefined here',
  },
  {
    file: 'lib/recovery/sequencer.ts',
    code: 't.seed = false;',
    replacement: 'true',
    reason:
      'the epoch change (line 114) resets seed before anything reads it: the accept that follows sets it false, or a fill holds events (accept and baseline skip seed) until done sets it false; the same text at lines 103 and 162 is killed',
  },
  {
    file: 'lib/recovery/sequencer.ts',
    code: 'if (offset === 1) this.accept(channel, e);',
    replacement: 'true',
    reason:
      'events are numbered from 1: with t.offset 0 and the epoch now equal, accept of an offset above 1 takes the same fill',
  },
  {
    file: 'lib/recovery/sequencer.ts',
    code: "this.tracks.set(channel, { epoch: '', offset: 0, gen: this.generation, seed: false });",
    replacement: '{}',
    reason:
      "an empty track acts as the '' one: no epoch equals either, continuous is false both ways (gen undefined), seed is falsy, and the first event sets every field",
  },
  {
    file: 'lib/recovery/sequencer.ts',
    code: 'gen: this.generation, seed: false });',
    replacement: 'true',
    reason:
      "seed is only read for an event or baseline of the track's epoch, and no position has the epoch '' (the first event resets seed)",
  },
  ...['true', 'first.position.offset - 1 >= t.offset', 'first.position.offset + 1'].map((replacement) => ({
    file: 'lib/recovery/sequencer.ts',
    code: 'if (first.position.offset - 1 > t.offset) t.offset = first.position.offset - 1;',
    replacement,
    reason:
      'fill starts only for an event at least 2 past t.offset, which cannot move while the read is out (held events stop accept and baseline): the test is always true',
  })),
  ...['false', '{}'].map((replacement) => ({
    file: 'lib/recovery/sequencer.ts',
    code: 'if (waiting !== undefined) {',
    replacement,
    reason:
      'without the early return the loop accepts the rest one by one, and accept pushes each onto the new gap’s t.held, in the same order',
  })),
  {
    file: 'lib/recovery/local-history.ts',
    code: 's.ring ??= new Array(this.size);',
    replacement: 'new Array()',
    reason: 'an array grows on assignment: only the preallocation differs, every slot read is the same',
  },
  {
    file: 'lib/recovery/local-history.ts',
    code: 'if (since.epoch === s.epoch && s.offset - since.offset > limit) {',
    replacement: 'true',
    reason: 'for another epoch resume answers the same: the current position, not recovered, no entries',
  },
  {
    file: 'lib/recovery/local-history.ts',
    code: 'const held: HistoryEntry[] = [];',
    replacement: '["Stryker was here"]',
    reason: "resume keeps only held entries with offset > since.offset, and a string's offset is undefined",
  },
  ...['Math.min(since.offset + 1, s.offset - this.size + 1)', 's.offset - this.size - 1', 'since.offset - 1'].map(
    (replacement) => ({
      file: 'lib/recovery/local-history.ts',
      code: 'for (let o = Math.max(since.offset + 1, s.offset - this.size + 1); s.ring && o <= s.offset; o++) {',
      replacement,
      reason:
        'starting earlier only visits slots that hold a later offset (skipped by e?.offset === o) or entries at or below since (dropped by resume)',
    }),
  ),
  {
    file: 'lib/recovery/recovery.ts',
    code: "if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;",
    replacement: 'false',
    reason: 'Number.isSafeInteger is false for every non-number, so the typeof test adds nothing',
  },
  {
    file: 'lib/recovery/recovery.ts',
    code: 'if (since.epoch !== position.epoch || since.offset > position.offset) {',
    replacement: 'false',
    reason:
      'a since ahead of the position then fails the count (entries.length >= 0 > position - since): the same refusal',
  },
  {
    file: 'lib/recovery/recovery.ts',
    code: 'entries[0]?.offset === since.offset + 1 &&',
    replacement: 'entries[0].offset',
    reason: 'reached only when entries.length equals position - since, which is above 0 there: entries[0] exists',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'this.ws.send(data, { binary });',
    replacement: '{}',
    reason:
      'ws frames a string as text and a Buffer as binary by default, which is what `binary` says on every call here',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (this.ws.readyState !== OPEN) return;',
    replacement: 'false',
    reason: 'after the close ws.send sends nothing, and release() checks the state again before its direct write',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (this.ws.readyState !== OPEN && this.ws.readyState !== 0) return;',
    replacement: 'false',
    reason:
      'ws.close on a closing or closed socket sends nothing more; the extra terminate timer targets a socket already going',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (this.ws.readyState !== OPEN && this.ws.readyState !== 0) return;',
    replacement: 'this.ws.readyState === 0',
    reason: 'differs only for a connecting ws, and the gateway makes Connections of open sockets only',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (Buffer.byteLength(reason) <= 123) return reason;',
    replacement: 'false',
    reason: 'cutting a reason that fits returns it whole (slice and the byte loop change nothing)',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (Buffer.byteLength(reason) <= 123) return reason;',
    replacement: 'Buffer.byteLength(reason) < 123',
    reason: 'a reason of exactly 123 bytes is cut to itself',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'let cut = reason.slice(0, 123);',
    replacement: 'reason',
    reason: 'the loop then trims the whole reason one character at a time to the same cut, only slower',
  },
  {
    file: 'lib/gateway/turn-flush.ts',
    code: 'if (socket === undefined) return;',
    replacement: 'false',
    reason: 'connections are enlisted through their own socket (enlist/corkForTurn get c.socket), so it is there',
  },
  {
    file: 'lib/gateway/turn-flush.ts',
    code: 'if (c.corked) {',
    replacement: 'true',
    reason: 'uncork() of a socket that is not corked does nothing',
  },
  {
    file: 'lib/gateway/turn-flush.ts',
    code: 'if (!flushScheduled) {',
    replacement: 'true',
    reason: 'the extra flushes run in the same check phase and find the list the first one emptied',
  },
  {
    file: 'lib/gateway/turn-flush.ts',
    code: 'flushScheduled = true;',
    replacement: 'false',
    reason: 'as above: the extra flushes of the same phase find nothing left to end',
  },
  {
    file: 'lib/gateway/frame-run.ts',
    code: 'if (frame.bytes === undefined) {',
    replacement: 'true',
    reason: "a frame's bytes are its text's framing, so measuring the text gives the same length",
  },
  {
    file: 'lib/gateway/frame-run.ts',
    code: 'if (frame.bytes !== undefined) at += frame.bytes.copy(out, at);',
    replacement: 'false',
    reason: "a frame's bytes are its text's framing, so framing the text again writes the same bytes",
  },
  {
    file: 'lib/gateway/frame-run.ts',
    code: "return at + out.write(text, at, 'utf8');",
    replacement: '""',
    reason: 'Buffer#write takes an empty encoding as its default, utf8',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (this.ws.readyState !== OPEN && this.ws.readyState !== 0) return;',
    replacement: 'true',
    reason: '(the `!== 0` test → true) differs only for a connecting ws, and Connections are made of open sockets only',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'if (socket === undefined || this.ws.readyState !== OPEN) return;',
    replacement: 'false',
    reason:
      '(the `socket === undefined` test → false) a run is held only with a socket: without one write() sends through ws',
  },
  {
    file: 'lib/gateway/connection.ts',
    code: 'for (let i = 0; i < length && f !== undefined; i++, f = f.next) this.ws.send(f.text);',
    replacement: 'true',
    reason:
      '(the `f !== undefined` test → true) a held run of `length` frames is `length` linked frames, so f is never undefined in it',
  },
  {
    file: 'lib/core/client-events.ts',
    code: "if (typeof channel !== 'string' || channelNameError(channel)) return rule('whisper needs a valid \"channel\"');",
    replacement: 'false',
    reason: 'channelNameError refuses every non-string itself, with the same refusal',
  },
  {
    file: 'lib/core/delivery.ts',
    code: 'for (const c of this.index.byIds(e.socketIds ?? [])) {',
    replacement: '["Stryker was here"]',
    reason:
      'socket ids are nextSocketId()\'s `node.n`: no connection is named "Stryker was here", so both reach nobody',
  },
  {
    file: 'lib/core/fanout.ts',
    code: 'if (client.gates !== undefined && message.channel !== undefined && stopsAtGate(client, client.gates, message)) {',
    replacement: 'true',
    reason:
      'gates are keyed by channel names: a message without a channel finds no gate, and stopsAtGate answers false',
  },
  {
    file: 'lib/core/gates.ts',
    code: 'if (floor === undefined || m.position === undefined) return false;',
    replacement: 'false',
    reason:
      'a gate holds (held set) until pass() gives it a floor or drops it, so past the held branch floor is always set',
  },
  {
    file: 'lib/core/gates.ts',
    code: "export const RESUBSCRIBE: Outbound = { kind: 'event', event: '', json: '' };",
    replacement: '{}',
    reason: 'a marker compared by identity only (replay, cluster-subscriptions): its fields are never read',
  },
  {
    file: 'lib/core/gates.ts',
    code: "export const RESUBSCRIBE: Outbound = { kind: 'event', event: '', json: '' };",
    replacement: '"Stryker was here!"',
    reason: 'a marker compared by identity only: its json is never read',
  },
  {
    file: 'lib/core/lifecycle.ts',
    code: "if (s !== 'open' && s !== 'gated') return;",
    replacement: 'false',
    reason:
      'the queued task checks the state again when it runs (client.state === "open"): a frame of a closing or closed connection is dropped there instead',
  },
  {
    file: 'lib/core/cache-store.ts',
    code: 'if (this.entries.size > 0 && this.entries.size % 1024 === 0) {',
    original: 'this.entries.size > 0',
    replacement: 'this.entries.size >= 0',
    reason: 'adds only a sweep of an empty map (size 0), which removes nothing',
  },
  {
    file: 'lib/core/cache-store.ts',
    code: 'if (this.entries.size > 0 && this.entries.size % 1024 === 0) {',
    original: 'this.entries.size > 0',
    replacement: 'true',
    reason: 'adds only a sweep of an empty map (size 0), which removes nothing',
  },
  {
    file: 'lib/core/replay.ts',
    code: 'if (!req.since) return { position: history.position(channel), recovered: !inPlace, entries: [] };',
    replacement: 'inPlace',
    reason:
      "without since the reply's recovered is never read from here: attach() sets it only for since (or to false for an invalid since)",
  },
  {
    file: 'lib/core/replay.ts',
    code: 'if (!holding) hold(client, result.channel, this.maxBufferedBytes);',
    replacement: 'true',
    reason: 'hold() on a gate that holds already changes nothing (gate.held ??= [])',
  },
  {
    file: 'lib/core/replay.ts',
    code: 'for (let bytes = 0; i < entries.length && bytes < CHUNK_BYTES; i++) {',
    replacement: 'bytes <= CHUNK_BYTES',
    reason:
      "the chunk bound is soft (a chunk ends after the event that passes it): <= moves a turn's end only when a chunk's frames total exactly 64 KiB, changing neither order nor content",
  },
  {
    file: 'lib/core/replay.ts',
    code: 'const gate = client.gates?.get(channel);',
    replacement: 'client.gates.get',
    reason:
      "flushHeld runs after hold() made the gate, and the connection's queue runs no other operation until the release ends: the gates are there",
  },
  {
    file: 'lib/core/replay.ts',
    code: 'if (gate?.overflow) {',
    replacement: 'gate.overflow',
    reason:
      "likewise: the channel's gate is there when flushHeld runs (only drop() removes it, and a dropped channel stops the release earlier)",
  },
  {
    file: 'lib/core/replay.ts',
    code: 'for (const m of gate?.held ?? []) {',
    replacement: 'gate.held',
    reason: "likewise: the channel's gate is there when flushHeld runs",
  },
  {
    file: 'lib/protocols/native.handler.ts',
    code: "if (typeof m.channel !== 'string' || channelNameError(m.channel)) {",
    original: "typeof m.channel !== 'string'",
    replacement: 'false',
    reason: 'channelNameError refuses a channel that is not a string as well, with the same reply',
  },
  {
    file: 'lib/protocols/pusher.handler.ts',
    code: '} catch {',
    replacement: '{}',
    reason: 'data left a string that is not JSON is no object either: the check below answers {} the same',
  },
  {
    file: 'lib/protocols/pusher.handler.ts',
    code: "if (typeof channel !== 'string') return;",
    replacement: 'false',
    reason:
      'unsubscribing a channel that is not a string finds no subscription: nothing is done and nothing is sent, as with the early return',
  },
  {
    file: 'lib/core/replay.ts',
    code: 'for (const m of gate?.held ?? []) {',
    replacement: '["Stryker was here"]',
    reason:
      'the channel gate holds when flushHeld runs (hold() made it, and only flushHeld itself opens it): the fallback list is never read',
  },
  {
    file: 'lib/core/replay.ts',
    code: "const epoch = rec?.position.epoch ?? '';",
    replacement: '"Stryker was here!"',
    reason: 'without a recovery (holdUntilReply) there are no entries, and the epoch only positions entries',
  },
  {
    file: 'lib/core/replay.ts',
    code: 'if (known && !news(known, m)) continue;',
    original: 'known',
    replacement: 'true',
    reason:
      'without a member list (not a presence channel) no member event is held, and news() answers true for any other event without reading the list',
  },
  {
    file: 'lib/core/client-events.ts',
    code: 'if (userId !== undefined) envelope.userId = userId;',
    replacement: 'true',
    reason:
      'an undefined userId reads as none everywhere: the codecs test === undefined and JSON (the cluster drivers) omits it',
  },
  {
    file: 'lib/core/delivery.ts',
    code: 'if (position !== undefined) m.position = position;',
    replacement: 'true',
    reason: 'an undefined position reads as none: the codecs and the gates test === undefined',
  },
  {
    file: 'lib/core/delivery.ts',
    code: 'if (e.socketIds === undefined && e.userIds === undefined && !e.all) return;',
    replacement: 'false',
    reason: "without targets each loop below visits nothing: only the early return's saving is lost",
  },
  {
    file: 'lib/core/delivery.ts',
    code: 'for (const userId of e.userIds ?? []) {',
    replacement: '["Stryker was here"]',
    reason: "the fallback's one item is looked up as a user id that no connection has: nothing is sent",
  },
  {
    file: 'lib/core/delivery.ts',
    code: 'else if (e.raw !== undefined) c.send(e.raw);',
    replacement: 'true',
    reason:
      'a raw envelope carries its text or its bytes (BroadcastService.sendRaw and the drivers never make one with neither)',
  },
  {
    file: 'lib/core/delivery.ts',
    code: 'if (ch === undefined || ch.subscribers.size === 0) return;',
    original: 'ch.subscribers.size === 0',
    replacement: 'false',
    reason: "a fan-out over no subscribers writes nothing: only the early return's saving is lost",
  },
  {
    file: 'lib/core/gates.ts',
    code: "export const RESUBSCRIBE: Outbound = { kind: 'event', event: '', json: '' };",
    replacement: '""',
    reason: 'a marker compared by identity only: its event name is never read',
  },
];
