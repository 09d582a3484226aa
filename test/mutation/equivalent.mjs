/**
 * Surviving mutants that no test can kill because the mutated code behaves the same: each with the
 * file, a piece of the original line, the replacement Stryker made, and why it is equivalent.
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
];
