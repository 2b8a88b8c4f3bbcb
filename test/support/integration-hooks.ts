/**
 * Mocha global fixtures for the integration tier (test/.mocharc.integration.json requires this).
 * Setup reuses the environment of `make env-up` (.cache/hostenv/state.json) when all its processes
 * still run; otherwise it starts a private one under .cache/hostenv/runs/<time>-<pid>/ that
 * teardown stops again (a guard process stops it too if mocha dies first). HOSTENV_FRESH=1 always
 * starts a private one. Either way the variables (KUBECONFIG, DATABASE_URL, S3_*, AMQP_URL,
 * SMTP_*, MAIL_API_URL, HOSTENV_STATE) are copied into process.env.
 *
 * Mocha imports spec files before it runs mochaGlobalSetup, so the environment is set up when
 * this module is loaded (top-level await): describe() bodies can already read process.env.
 * mochaGlobalSetup only makes sure of it; mochaGlobalTeardown stops a private environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_ROOT, type HostEnv, loadHostEnv, setCurrentHostEnv, startHostEnv } from './hostenv.js';

const KEEP_RUNS = 5;
let owned: HostEnv | undefined;

const say = (line: string) => process.stderr.write(`[hostenv] ${line}\n`);

/** Deletes the oldest private run directories whose environment is no longer recorded as running. */
function pruneRuns(runs: string): void {
  if (!fs.existsSync(runs)) return;
  const dirs = fs
    .readdirSync(runs)
    .filter((d) => !fs.existsSync(path.join(runs, d, 'state.json')))
    .sort()
    .reverse();
  for (const d of dirs.slice(KEEP_RUNS)) fs.rmSync(path.join(runs, d), { recursive: true, force: true });
}

let ready: Promise<void> | undefined;

async function setUp(): Promise<void> {
  const shared = process.env.HOSTENV_FRESH === '1' ? undefined : loadHostEnv(DEFAULT_ROOT);
  let env: HostEnv;
  if (shared) {
    env = shared;
    say(
      `reusing the running environment of ${path.relative(process.cwd(), DEFAULT_ROOT)} (started ${shared.state.startedAt})`,
    );
  } else {
    const runs = path.join(DEFAULT_ROOT, 'runs');
    pruneRuns(runs);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const root = path.join(runs, `${stamp}-${process.pid}`);
    env = await startHostEnv({ root, guardParent: process.pid });
    owned = env;
    say(
      `started a private environment in ${(env.state.startupMs / 1000).toFixed(1)} s; logs in ${path.relative(process.cwd(), path.join(root, 'logs'))}`,
    );
  }
  setCurrentHostEnv(env);
  env.applyToProcessEnv();
}

/** Idempotent: starts (or finds) the environment once per process. */
export function ensureHostEnv(): Promise<void> {
  ready ??= setUp();
  return ready;
}

await ensureHostEnv();

export async function mochaGlobalSetup(): Promise<void> {
  await ensureHostEnv();
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!owned) return;
  const env = owned;
  owned = undefined;
  const t0 = Date.now();
  await env.stop();
  setCurrentHostEnv(undefined);
  say(`stopped the private environment in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
