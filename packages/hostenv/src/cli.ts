/**
 * The host test environment from the command line (`make env-up` / `make env-down`):
 *   node --import=tsx packages/hostenv/src/cli.ts up [--root DIR]      start, write state.json + env.sh, exit
 *        [--guard-parent PID]  also start a guard that stops the environment when PID dies
 *   node --import=tsx packages/hostenv/src/cli.ts down [--root DIR]    stop every process by pid
 *   node --import=tsx packages/hostenv/src/cli.ts status [--root DIR]  pids, liveness, memory, env
 * The processes started by `up` keep running after it exits; the mocha hooks reuse them.
 */
import path from 'node:path';
import { HostEnv, loadHostEnv, readState } from './env.js';
import { DEFAULT_ROOT, REPO_ROOT } from './paths.js';
import { isRunning } from './process.js';
import { startHostEnv } from './start.js';

function usage(): never {
  process.stderr.write('usage: hostenv-cli.ts up|down|status [--root DIR] [--guard-parent PID]\n');
  process.exit(2);
}

const [command, ...rest] = process.argv.slice(2);
let root = DEFAULT_ROOT;
let guardParent: number | undefined;
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--root' && rest[i + 1]) root = path.resolve(rest[++i] as string);
  else if (rest[i] === '--guard-parent' && rest[i + 1]) guardParent = Number(rest[++i]);
  else usage();
}
const rel = (p: string) => path.relative(process.cwd(), p) || '.';
const say = (line: string) => process.stdout.write(`${line}\n`);

async function up(): Promise<void> {
  const running = loadHostEnv(root);
  if (running) {
    say(
      `host environment already running (started ${running.state.startedAt}); variables: source ${rel(path.join(root, 'env.sh'))}`,
    );
    return;
  }
  const stale = readState(root);
  if (stale) {
    say('stopping what is left of a previous host environment');
    await new HostEnv(stale, false).stop();
  }
  // Ctrl-C during start-up: stop what was launched so far (state.json is written after each launch).
  const abort = (sig: NodeJS.Signals) => {
    say(`${sig}: stopping what was started`);
    const partial = readState(root);
    void (partial ? new HostEnv(partial, false).stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const env = await startHostEnv({ root, guardParent, log: (l) => say(`  ${l}`) });
  process.off('SIGINT', abort);
  process.off('SIGTERM', abort);
  say(
    `host environment up in ${(env.state.startupMs / 1000).toFixed(1)} s; logs in ${rel(path.join(root, 'logs'))}`,
  );
  say(`  kubectl --kubeconfig ${rel(env.env.KUBECONFIG)} get ns`);
  say(
    `  source ${rel(path.join(root, 'env.sh'))}   # KUBECONFIG DATABASE_URL S3_* AMQP_URL SMTP_* MAIL_API_URL`,
  );
}

async function down(): Promise<void> {
  const state = readState(root);
  if (!state) {
    say(`no host environment recorded in ${rel(root)}`);
    return;
  }
  const t0 = Date.now();
  await new HostEnv(state, false).stop();
  say(`host environment stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function status(): void {
  const state = readState(root);
  if (!state) {
    say(`no host environment recorded in ${rel(root)}`);
    process.exitCode = 1;
    return;
  }
  const env = new HostEnv(state, false);
  const mem = env.memoryKb();
  say(
    `host environment in ${rel(root)}, started ${state.startedAt} by pid ${state.startedBy}, ready in ${state.startupMs} ms`,
  );
  for (const [name, rec] of Object.entries(state.processes)) {
    const up = isRunning(rec);
    say(
      `  ${name.padEnd(24)} pid ${String(rec.pid).padEnd(8)} ${up ? 'running' : 'DEAD   '} rss ${((mem[name] ?? 0) / 1024).toFixed(1)} MB`,
    );
  }
  say(`  total rss ${(Object.values(mem).reduce((a, b) => a + b, 0) / 1024).toFixed(1)} MB`);
  for (const [k, v] of Object.entries(state.env)) say(`  ${k}=${v}`);
  if (!env.allRunning()) process.exitCode = 1;
}

try {
  process.chdir(REPO_ROOT);
  if (command === 'up') await up();
  else if (command === 'down') await down();
  else if (command === 'status') status();
  else usage();
} catch (err) {
  process.stderr.write(`hostenv ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
// Children are detached and unreferenced; nothing else should keep us alive.
process.exit();
