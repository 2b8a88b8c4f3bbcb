/**
 * Process supervision: launch in its own session and process group with a log file, tell our
 * process from a reused pid (/proc start time), stop with the service's signal then SIGKILL to the
 * whole group and tree, find strays, and wait for readiness while watching that the process lives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GiveUp, pollUntil, waitFor } from '@videoflix/testkit/waiters';
import type { ProcRecord, ProcSpec } from './types.js';

const children = new Map<number, ChildProcess>();

function procStat(pid: number): { state: string; pgrp: number; startTicks: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] = state (field 3), fields[2] = pgrp (field 5), fields[19] = starttime (field 22)
    return { state: fields[0] ?? '?', pgrp: Number(fields[2]), startTicks: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** True when the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** True when the record's process is still the one we started (pid not reused) and alive. */
export function isRunning(rec: ProcRecord): boolean {
  const st = procStat(rec.pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTicks === rec.startTicks;
}

/** Live (non-zombie) members of a process group. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') out.push(Number(entry));
  }
  return out;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function launch(spec: ProcSpec): ProcRecord {
  try {
    fs.accessSync(spec.cmd, fs.constants.X_OK);
  } catch {
    throw new Error(
      `${spec.name}: ${spec.cmd} is missing; run \`make deps tools\` (hack/deps.sh host && hack/tools.sh host)`,
    );
  }
  fs.mkdirSync(path.dirname(spec.log), { recursive: true });
  const fd = fs.openSync(spec.log, 'a');
  let child: ChildProcess;
  try {
    fs.writeSync(fd, `\n==== ${new Date().toISOString()} ${spec.cmd} ${spec.args.join(' ')}\n`);
    child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      uid: spec.uid,
      gid: spec.gid,
      detached: true, // setsid(): its own session and process group (pgid = pid)
      stdio: ['ignore', fd, fd],
    });
  } finally {
    fs.closeSync(fd);
  }
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`${spec.name}: spawn of ${spec.cmd} failed`);
  const pid = child.pid;
  children.set(pid, child);
  child.on('exit', () => children.delete(pid));
  child.unref();
  const st = procStat(pid);
  return { spec, pid, startTicks: st?.startTicks ?? -1 };
}

/** The process and all its descendants (postgres backends and erl_child_setup start their own sessions). */
export function processTree(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop() as number;
    if (!isAlive(pid)) continue;
    out.push(pid);
    todo.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/**
 * Stops a process: its stop signal to the pid, SIGKILL after stopTimeoutMs; then waits for every
 * process of its tree and group (taken before the signal) to be gone, SIGKILLing stragglers.
 * Resolves with how it ended; rejects if anything survives SIGKILL.
 */
export async function stopProcess(rec: ProcRecord): Promise<'graceful' | 'killed' | 'gone'> {
  const pgid = rec.pid;
  const tracked = new Map<number, number>();
  const running = isRunning(rec);
  for (const pid of [...(running ? processTree(rec.pid) : []), ...groupMembers(pgid).flatMap(processTree)]) {
    const st = procStat(pid);
    if (st) tracked.set(pid, st.startTicks);
  }
  const alive = () =>
    [...tracked].filter(([pid, ticks]) => {
      const st = procStat(pid);
      return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTicks === ticks;
    });
  let how: 'graceful' | 'killed' | 'gone' = 'gone';
  if (running) {
    signal(rec.pid, rec.spec.stopSignal);
    how = (await pollUntil(() => !isAlive(rec.pid), rec.spec.stopTimeoutMs)) ? 'graceful' : 'killed';
  }
  // Helpers (postgres backends, erl_child_setup, ...) get a moment to follow their parent.
  if (alive().length > 0 && !(await pollUntil(() => alive().length === 0, 3000))) {
    how = 'killed';
    signal(-pgid, 'SIGKILL');
    for (const [pid] of alive()) signal(pid, 'SIGKILL');
    if (!(await pollUntil(() => alive().length === 0, 5000))) {
      throw new Error(
        `${rec.spec.name}: processes survived SIGKILL: ${alive()
          .map(([pid]) => pid)
          .join(' ')}`,
      );
    }
  }
  return how;
}

/**
 * Processes (other than this one and its ancestors) working in, or naming, the data or pki
 * directory of the environment in `root`: every process of an environment does one or the other.
 * Only those two directories: other environments may live below `root` (`runs/` under the
 * default root) and must not be touched.
 */
export function straysOf(root: string): number[] {
  const mine = new Set<number>();
  for (let pid = process.pid; pid > 1;) {
    mine.add(pid);
    const st = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    pid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
  }
  const dirs = [path.join(root, 'data'), path.join(root, 'pki')];
  const inside = (p: string) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || mine.has(Number(entry)) || !isAlive(Number(entry))) continue;
    try {
      const cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (inside(cwd) || args.some((a) => dirs.some((d) => a.includes(`${d}/`) || a.endsWith(d)))) {
        out.push(Number(entry));
      }
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return out;
}

/** Waits until `check` passes, failing at once with the log tail if the process dies. */
export async function waitReady(
  rec: ProcRecord,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(
    async () => {
      if (!isRunning(rec)) {
        throw new GiveUp(
          `${rec.spec.name} exited before it was ready (${what}); ${rec.spec.log}:\n${tail(rec.spec.log)}`,
        );
      }
      return await check();
    },
    { timeoutMs, intervalMs: 50, what: `${rec.spec.name}: ${what} (log ${rec.spec.log})` },
  );
}
