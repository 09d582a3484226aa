import type { BroadcastModuleOptions } from 'nestjs-broadcasting';
import { createSampleApp } from '../../sample/bootstrap.js';
import { listenOnLoopback, type RunningApp } from './app.js';

/**
 * Boots the demo app of sample/ on a random loopback port. Only for the tests of the sample itself
 * (its page and its routes): every other suite boots the fixture, with startFixture().
 */
export async function startSample(overrides: BroadcastModuleOptions = {}): Promise<RunningApp> {
  return listenOnLoopback(await createSampleApp(overrides, false));
}
