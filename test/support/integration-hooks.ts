/**
 * Mocha global fixtures for the integration tier (test/.mocharc.integration.json requires this).
 * Setup reuses the environment of `make env-up` (.cache/hostenv/state.json) when all its processes
 * still run; otherwise it starts a private one under .cache/hostenv/runs/<time>-<pid>/ that
 * teardown stops again (a guard process stops it too if mocha dies first). HOSTENV_FRESH=1 always
 * starts a private one. Either way the variables (KUBECONFIG, DATABASE_URL, S3_*, AMQP_URL,
 * SMTP_*, MAIL_API_URL, HOSTENV_STATE) are copied into process.env.
 *
 * Mocha imports spec files before it runs mochaGlobalSetup. So the variables are published when
 * this module is loaded (top-level await; describe() bodies can read process.env), the processes
 * boot while mocha loads the spec files (the start-up itself runs in a child process, the CLI's
 * `up`, so mocha's busy thread does not slow it), and mochaGlobalSetup waits until all are ready.
 * mochaGlobalTeardown stops a private environment (also after a failed start-up).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  CLI_PATH,
  DEFAULT_ROOT,
  HostEnv,
  REPO_ROOT,
  isRunning,
  loadHostEnv,
  readState,
  setCurrentHostEnv,
} from '@videoflix/hostenv';
import { GiveUp, waitFor } from '@videoflix/testkit/waiters';

const KEEP_RUNS = 5;
let owned: HostEnv | undefined;

const say = (line: string) => process.stderr.write(`[hostenv] ${line}\n`);

/**
 * Deletes the oldest private run directories whose environment is over: no state.json (stopped
 * cleanly), or a state.json none of whose processes runs any more (its run was killed).
 */
function pruneRuns(runs: string): void {
  if (!fs.existsSync(runs)) return;
  const over = (dir: string) => {
    const state = readState(dir);
    return !state || !Object.values(state.processes).some(isRunning); // the newest are kept anyway
  };
  const dirs = fs
    .readdirSync(runs)
    .sort()
    .reverse()
    .slice(KEEP_RUNS)
    .filter((d) => over(path.join(runs, d)));
  for (const d of dirs) fs.rmSync(path.join(runs, d), { recursive: true, force: true });
}

let planned: Promise<void> | undefined;
let started: Promise<unknown> | undefined;

/**
 * Finds or begins the environment. Resolves as soon as its variables are known and published
 * (process.env, hostEnv()); a private environment keeps booting meanwhile, while mocha loads the
 * spec files, and `started` resolves when it is ready.
 */
async function begin(): Promise<void> {
  const shared = process.env.HOSTENV_FRESH === '1' ? undefined : loadHostEnv(DEFAULT_ROOT);
  if (shared) {
    say(
      `reusing the running environment of ${path.relative(process.cwd(), DEFAULT_ROOT)} (started ${shared.state.startedAt})`,
    );
    setCurrentHostEnv(shared);
    shared.applyToProcessEnv();
    started = Promise.resolve();
    return;
  }
  const runs = path.join(DEFAULT_ROOT, 'runs');
  pruneRuns(runs);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const root = path.join(runs, `${stamp}-${process.pid}`);
  // The start-up runs in a child process (the CLI's `up`): mocha's thread is busy for seconds
  // loading the spec files, which would delay every readiness check and dependent launch here.
  fs.mkdirSync(path.join(root, 'logs'), { recursive: true });
  const cliLog = path.join(root, 'logs', 'hostenv-cli.log');
  const fd = fs.openSync(cliLog, 'a');
  const child = spawn(
    process.execPath,
    ['--import=tsx', CLI_PATH, 'up', '--root', root, '--guard-parent', String(process.pid)],
    { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], env: process.env },
  );
  fs.closeSync(fd);
  const failed = (code: number | null) =>
    new Error(
      `the host environment did not start (exit ${code}); ${cliLog}:\n${fs.readFileSync(cliLog, 'utf8').trim().split('\n').slice(-30).join('\n')}`,
    );
  let exited: number | null | undefined;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      exited = code;
      if (code === 0) resolve();
      else reject(failed(code));
    });
  });
  done.catch(() => undefined); // reported by begin() or mochaGlobalSetup
  const plan = await waitFor(
    () => {
      if (exited !== undefined && exited !== 0) throw new GiveUp(failed(exited).message);
      const state = readState(root);
      return state?.planned ? state : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 25, what: `the plan of the host environment in ${root}` },
  );
  const env = new HostEnv(plan, true);
  owned = env;
  setCurrentHostEnv(env);
  env.applyToProcessEnv();
  started = done.then(() => {
    env.refresh();
    const final = readState(root);
    if (final) env.state = final;
    say(
      `started a private environment in ${(env.state.startupMs / 1000).toFixed(1)} s; logs in ${path.relative(process.cwd(), path.join(root, 'logs'))}`,
    );
  });
  started.catch(() => undefined); // reported by mochaGlobalSetup
}

/** Idempotent: publishes the environment's variables once per process. */
export function ensureHostEnv(): Promise<void> {
  planned ??= begin();
  return planned;
}

await ensureHostEnv();

/** Waits until every process of the environment is ready (runs after the spec files loaded). */
export async function mochaGlobalSetup(): Promise<void> {
  await ensureHostEnv();
  await started;
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
