/**
 * Shared plumbing of the benchmarks: the host tier (@videoflix/hostenv, packages/hostenv, started once under
 * .cache/bench/hostenv by hack/bench.sh or by a script run alone), child processes with their
 * memory and CPU read from /proc, and result rows appended to $BENCH_RESULTS (JSON lines) for the
 * table that bench/report.ts prints. Benchmarks report; they never assert timings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, loadHostEnv, REPO_ROOT, startHostEnv, type HostEnv } from '@videoflix/hostenv';

export { freePort };
import { waitFor } from '@videoflix/testkit/waiters';

export { REPO_ROOT };
export const BENCH_CACHE = path.join(REPO_ROOT, '.cache/bench');
export const HOSTENV_ROOT = process.env.BENCH_HOSTENV_ROOT ?? path.join(BENCH_CACHE, 'hostenv');

export interface Row {
  bench: string;
  metric: string;
  value: number | string;
  unit?: string;
  /** The baseline measured in the same run, and what it is. */
  baseline?: { label: string; value: number; unit?: string };
  /** value / baseline (or as stated in `ratioNote`). */
  ratio?: number;
  goal?: string;
  note?: string;
}

/** Prints a row and appends it to $BENCH_RESULTS when set. */
export function report(row: Row): void {
  const load = os.loadavg()[0]!.toFixed(1);
  const full = { ...row, load: Number(load) };
  const base = row.baseline
    ? `  (baseline ${row.baseline.label}: ${fmt(row.baseline.value)} ${row.baseline.unit ?? row.unit ?? ''})`
    : '';
  const ratio = row.ratio !== undefined ? `  ratio ${row.ratio.toFixed(2)}` : '';
  process.stdout.write(
    `[${row.bench}] ${row.metric}: ${fmt(row.value)} ${row.unit ?? ''}${base}${ratio}${row.note ? `  — ${row.note}` : ''}  [load ${load}]\n`,
  );
  const file = process.env.BENCH_RESULTS;
  if (file) fs.appendFileSync(file, `${JSON.stringify(full)}\n`);
}

export function notRun(bench: string, reason: string): void {
  report({ bench, metric: 'not run', value: reason });
}

/** A figure for a table; a missing one (NaN, which JSON lines carry as null) is "—". */
export function fmt(v: number | string | null | undefined): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * The benchmark host tier: reused when hack/bench.sh (or an earlier run) started it, else started
 * here and stopped by `release()`. Its variables are copied into process.env.
 */
export async function hostTier(): Promise<{ env: HostEnv; release: () => Promise<void> }> {
  let env = loadHostEnv(HOSTENV_ROOT);
  let owned = false;
  if (!env) {
    say(`starting the host tier in ${path.relative(REPO_ROOT, HOSTENV_ROOT)}`);
    env = await startHostEnv({ root: HOSTENV_ROOT, guardParent: process.pid });
    owned = true;
  }
  env.applyToProcessEnv();
  return { env, release: async () => (owned ? env.stop() : undefined) };
}

// ---------------------------------------------------------------- /proc

export interface ProcMem {
  rssKb: number;
  hwmKb: number;
}

export function procMem(pid: number): ProcMem {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

const CLK_TCK = 100;
/** User + system CPU seconds of a process (from /proc/<pid>/stat). */
export function procCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs); false when not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export const MiB = 1024 * 1024;

// ---------------------------------------------------------------- child processes

export interface Child {
  proc: ChildProcess;
  pid: number;
  output: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop: (graceMs?: number) => Promise<void>;
}

/** `node --import=tsx <script>` (plus extra --import modules) as a child of this process. */
export function startNode(
  script: string,
  env: Record<string, string | undefined>,
  opts: {
    imports?: string[];
    /** Output to this file instead of a pipe (cheaper under load). */
    logFile?: string;
    nodeArgs?: string[];
    /** Plain node, no tsx (a compiled .js script). */
    plain?: boolean;
  } = {},
): Child {
  const args = [
    ...(opts.nodeArgs ?? []),
    ...(opts.plain ? [] : ['--import=tsx']),
    ...(opts.imports ?? []).map((m) => `--import=${m}`),
    script,
  ];
  let fd: number | undefined;
  if (opts.logFile) {
    fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
    fd = fs.openSync(opts.logFile, 'w');
  }
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
  });
  if (fd !== undefined) fs.closeSync(fd);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    pid: proc.pid!,
    output: () => (opts.logFile ? tail(opts.logFile) : out),
    stop: async (graceMs = 10_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Waits until `url` answers 200 (the child's output in the error when it does not). */
export async function waitHttpOk(url: string, child: Child, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      if (child.proc.exitCode !== null) throw new Error(`exited: ${child.output().slice(-2000)}`);
      return (await fetch(url)).status === 200;
    },
    { timeoutMs, intervalMs: 250, what: `${url} (output: ${child.output().slice(-1000)})` },
  );
}

// ---------------------------------------------------------------- small statistics

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export function machine(): string {
  return `${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

function tail(file: string, bytes = 4000): string {
  try {
    const s = fs.readFileSync(file, 'utf8');
    return s.slice(-bytes);
  } catch {
    return '';
  }
}

/**
 * `operator/main.ts` as a child process leading alone in namespace `ns`, its API-server requests counted
 * into `countFile` by bench/support/count-requests.ts (started fresh: the file is removed first).
 */
export function startCountedOperator(o: {
  ns: string;
  name: string;
  port: number;
  countFile: string;
  mediaBucket: string;
  sourceBucket: string;
  env?: Record<string, string | undefined>;
}): Child {
  fs.rmSync(o.countFile, { force: true });
  return startNode(
    path.join(REPO_ROOT, 'operator/main.ts'),
    {
      LOG_LEVEL: 'warn',
      WATCH_NAMESPACE: o.ns,
      POD_NAMESPACE: o.ns,
      POD_NAME: o.name,
      HTTP_PORT: String(o.port),
      HTTP_HOST: '127.0.0.1',
      S3_MEDIA_BUCKET: o.mediaBucket,
      S3_SOURCE_BUCKET: o.sourceBucket,
      AMQP_EXCHANGE: `bench.video-status.${o.ns}`,
      TRANSCODER_IMAGE: 'videoflix-transcoder:bench',
      BENCH_REQUEST_COUNT_FILE: o.countFile,
      ...o.env,
    },
    { imports: [path.join(REPO_ROOT, 'bench/support/count-requests.ts')] },
  );
}
