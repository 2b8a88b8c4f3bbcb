/**
 * Root hooks of the attack suite (test/.mocharc.attack.json): the platform up before anything, and zero
 * 5xx answers over the whole suite (support.ts counts every answer), checked once at the end.
 */
import { platform, stats, stopDirect } from './support.js';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60 * 60_000); // a cold `hack/dev.sh up` when no platform answers
    await platform();
  },
  async afterAll(): Promise<void> {
    await stopDirect();
    process.stderr.write(`[attack] ${stats.requests} requests, ${stats.serverErrors.length} answered 5xx\n`);
    if (stats.serverErrors.length > 0)
      throw new Error(`answers 5xx during the attack suite:\n  ${stats.serverErrors.join('\n  ')}`);
  },
};
