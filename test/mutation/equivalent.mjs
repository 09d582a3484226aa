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
];
