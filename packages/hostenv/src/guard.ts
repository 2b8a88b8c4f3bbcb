/** The guard process that stops an environment when the process that started it dies. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HostEnv } from './env.js';
import { CLI_PATH, REPO_ROOT } from './paths.js';

/**
 * A guard that stops the environment if `parentPid` dies without doing so (crash, SIGKILL,
 * Ctrl-C during teardown). Runs in its own process group; `HostEnv.stop()` kills it first.
 */
export function spawnGuard(env: HostEnv, parentPid = process.pid): number {
  const cli = CLI_PATH.replace(/'/g, '');
  const script = `while kill -0 ${parentPid} 2>/dev/null; do sleep 1; done; exec '${process.execPath}' --import=tsx '${cli}' down --root '${env.root}'`;
  const fd = fs.openSync(path.join(env.root, 'logs', 'guard.log'), 'a');
  try {
    const child = spawn('/bin/sh', ['-c', script], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: process.env,
    });
    child.on('error', () => undefined);
    child.unref();
    if (child.pid === undefined) throw new Error('could not start the hostenv guard');
    env.state.guardPid = child.pid;
    env.save();
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}
