/**
 * The environment the current process's tests run against (set by the mocha hooks, else found
 * through HOSTENV_STATE), and the disruptions tests perform on it.
 */
import fs from 'node:fs';
import { HostEnv } from './env.js';
import type { HostEnvState } from './types.js';

// Kept on globalThis so that two instances of this module (CJS and ESM loads) share it.
const CURRENT = Symbol.for('videoflix.hostenv.current');
const holder = globalThis as unknown as Record<symbol, HostEnv | undefined>;

export function setCurrentHostEnv(env: HostEnv | undefined): void {
  holder[CURRENT] = env;
}

/** The environment the tests run against: set by the mocha hooks, else found through HOSTENV_STATE. */
export function hostEnv(): HostEnv {
  const current = holder[CURRENT];
  if (current) return current;
  const file = process.env.HOSTENV_STATE;
  if (file && fs.existsSync(file)) {
    const found = new HostEnv(JSON.parse(fs.readFileSync(file, 'utf8')) as HostEnvState, false);
    holder[CURRENT] = found;
    return found;
  }
  throw new Error(
    'no host environment: run the tests with test/.mocharc.integration.json, or `make env-up` and source .cache/hostenv/env.sh',
  );
}

/**
 * True when the tests run against an environment they did not start (`make env-up`, shared by
 * every concurrent run): tests that disrupt it (stopRabbit, restartControllerManager, clearMail)
 * should skip then, e.g. `if (isSharedHostEnv()) this.skip();`.
 */
export function isSharedHostEnv(): boolean {
  return !hostEnv().owned;
}

/** Stops the broker of the current environment (simulated outage). */
export function stopRabbit(): Promise<void> {
  return hostEnv().stopRabbit();
}

/** Starts the broker of the current environment again, same port and data; resolves when it accepts AMQP. */
export function startRabbit(): Promise<void> {
  return hostEnv().startRabbit();
}

/** Restarts kube-controller-manager of the current environment (GC rediscovers new CRDs). */
export function restartControllerManager(): Promise<void> {
  return hostEnv().restartControllerManager();
}
