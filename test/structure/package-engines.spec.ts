/**
 * `engines.node` says what the package really needs: CommonJS apps load it with require(), which
 * Node runs on ES modules without a flag from 20.19 (20.x) and 22.12 (22.x) on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import semver from 'semver';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const { engines } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };

describe('engines.node', () => {
  it.each(['20.19.0', '20.20.2', '22.12.0', '24.0.0'])('admits %s (require of ESM unflagged)', (v) => {
    expect(semver.satisfies(v, engines.node)).toBe(true);
  });

  it.each(['20.18.3', '21.7.3', '22.11.0', '18.20.0'])('refuses %s (no require of ESM without a flag)', (v) => {
    expect(semver.satisfies(v, engines.node)).toBe(false);
  });

  it('admits the Node that runs these tests', () => {
    expect(semver.satisfies(process.version, engines.node)).toBe(true);
  });
});
