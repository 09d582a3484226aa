/**
 * Waits for a condition that has no event to await (state inside the server), checking every few
 * milliseconds; fails after `timeoutMs`. Not a sleep: it returns as soon as the condition holds.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
