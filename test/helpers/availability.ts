/**
 * The availability rule of the suites that need a server (Redis, a Redis Cluster, NATS): under a
 * truthy CI a missing server fails the run; elsewhere those suites are skipped, visibly.
 */

/** Whether CI is set to anything but an explicit "off" (`CI=1`, `CI=true`, `CI=yes` … all count). */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI?.trim().toLowerCase();
  return v !== undefined && !['', '0', 'false', 'no', 'off'].includes(v);
}

/**
 * What a suite does when `what` does not answer: under CI it throws (the run fails, naming it);
 * otherwise it warns "⚠ … SKIPPED" with `hint` and answers false.
 */
export function unavailable(what: string, hint: string): false {
  if (underCi()) throw new Error(`${what} is required under CI (CI=${process.env.CI}) but does not answer`);
  console.warn(`\n  ⚠ ${what} does not answer: its suites are SKIPPED (${hint})\n`);
  return false;
}
