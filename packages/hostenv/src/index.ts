/**
 * @videoflix/hostenv: the host test tier as a small library, like controller-runtime's envtest.
 * Real processes on loopback, started from the pinned tools in ./bin and the Debian packages:
 *
 *   etcd → kube-apiserver (RBAC, client certs, signed service-account tokens) → CRDs of crds/
 *   → kube-controller-manager; versitygw (S3, posix backend); PostgreSQL 15 (own data dir, port
 *   and socket dir, run as the `postgres` OS user); epmd + RabbitMQ (loopback only); maildev.
 *
 * Every port is reserved free at start (ports.ts); every process runs in its own process group,
 * logs to <root>/logs/<name>.log and keeps its data under <root>/data (process.ts); one recipe per
 * service says how to launch it and when it is ready (recipes/). `startHostEnv()` (start.ts)
 * starts them, `HostEnv.stop()` (env.ts) stops them by pid and checks that no member is left. The
 * state (pids, launch specs, env) is kept in <root>/state.json so another process (the CLI, the
 * mocha hooks, a guard) can reuse or stop the environment.
 */
export { applyCrds } from './crds.js';
export { HostEnv, loadHostEnv, readState } from './env.js';
export { spawnGuard } from './guard.js';
export {
  hostEnv,
  isSharedHostEnv,
  restartControllerManager,
  setCurrentHostEnv,
  startRabbit,
  stopRabbit,
} from './current.js';
export { BIN_DIR, CLI_PATH, DEFAULT_ROOT, REPO_ROOT } from './paths.js';
export { PORT_LOCKS, freePort, freePorts, releasePorts, reservePorts } from './ports.js';
export { groupMembers, isAlive, isRunning, processTree, stopProcess, straysOf } from './process.js';
export { planState, startHostEnv, wantedComponents } from './start.js';
export * from './types.js';
