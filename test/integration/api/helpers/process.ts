/** Running the API's commands (main, migrate, create-admin) as child processes, as a deployment would. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GiveUp, waitFor } from '../../../support/waiters.js';
export { freePort } from '../../../support/hostenv.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCommand(
  script: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<Ran>; output: () => string } {
  const child = spawn(process.execPath, ['--import=tsx', script, ...args], {
    cwd: ROOT,
    // METRICS_PORT=0: no metrics server unless a test asks (the default port would collide between runs)
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', METRICS_PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Ran>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, output: () => stdout + stderr };
}

export async function runCommand(
  script: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<Ran> {
  const { child, done } = startCommand(script, args, env);
  child.stdin!.end(input ?? '');
  return done;
}

/** Waits until a started main.ts answers 200 on `url` (its /readyz); fails at once, with its output, if it exits. */
export async function untilReady(
  app: { done: Promise<Ran>; output: () => string },
  url: string,
  what = 'main.ts ready',
): Promise<void> {
  let exited: number | null | undefined;
  void app.done.then((r) => (exited = r.code));
  await waitFor(
    async () => {
      if (exited !== undefined) throw new GiveUp(`main.ts exited ${exited}: ${app.output().slice(-2000)}`);
      return (await fetch(url)).status === 200;
    },
    { timeoutMs: 90_000, what },
  );
}
