/** One bounded autocannon run (it stops by itself after `durationSec`), with the server's CPU. */
import autocannon from 'autocannon';
import { procCpuSeconds } from './lib.js';

export interface LoadResult {
  rps: number;
  mbps: number;
  p50: number;
  p99: number;
  requests: number;
  ok: number;
  errors: number;
  /** CPU milliseconds of `serverPid` per answered request (when given). */
  cpuMsPerReq?: number;
}

export async function load(opts: {
  url: string;
  connections: number;
  durationSec: number;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
  /** Paths cycled through (autocannon `requests`); default just `url`. */
  paths?: string[];
  serverPid?: number;
}): Promise<LoadResult> {
  const cpu0 = opts.serverPid ? procCpuSeconds(opts.serverPid) : 0;
  const r = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.durationSec,
    timeout: 30,
    headers: opts.headers ?? {},
    ...(opts.method ? { method: opts.method } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    ...(opts.paths ? { requests: opts.paths.map((p) => ({ path: p })) } : {}),
  });
  const cpu1 = opts.serverPid ? procCpuSeconds(opts.serverPid) : 0;
  const answered = r['2xx'] + r.non2xx;
  return {
    rps: answered / r.duration,
    mbps: r.throughput.total / r.duration / (1024 * 1024),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: answered,
    ok: r['2xx'],
    errors: r.errors + r.timeouts + r.non2xx,
    ...(opts.serverPid && answered ? { cpuMsPerReq: ((cpu1 - cpu0) * 1000) / answered } : {}),
  };
}

/**
 * Waits until the server has finished the work a load run left in flight (autocannon stops
 * sending, but the server still answers what it accepted): its CPU use over 500 ms falls under
 * 10 %, at most `maxMs`.
 */
export async function drained(serverPid: number, maxMs = 60_000): Promise<void> {
  const end = performance.now() + maxMs;
  while (performance.now() < end) {
    const c0 = procCpuSeconds(serverPid);
    await new Promise((r) => setTimeout(r, 500));
    if (procCpuSeconds(serverPid) - c0 < 0.05) return;
  }
}

/**
 * CPU milliseconds per request of the processes in `meters` (a pid, read from /proc, or a function
 * returning CPU seconds so far, e.g. a Pod's cgroup), from a closed loop of `n` requests
 * (`concurrency` at a time) that all complete before the CPU is read again, so work in flight at
 * the end of a timed run does not skew it.
 */
export async function cpuPerRequest(
  urls: string[],
  meters: Array<number | (() => Promise<number>)>,
  opts: {
    n?: number;
    concurrency?: number;
    headers?: Record<string, string>;
    /** Sends one request and answers its status after reading the body (default: fetch with `headers`). */
    request?: (url: string) => Promise<number>;
    /** The status every request must get (default 200). */
    expect?: number;
  } = {},
): Promise<number[]> {
  const n = opts.n ?? 40;
  const conc = opts.concurrency ?? 4;
  const read = () =>
    Promise.all(meters.map((m) => (typeof m === 'number' ? Promise.resolve(procCpuSeconds(m)) : m())));
  const before = await read();
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < n) {
        const i = next++;
        const url = urls[i % urls.length]!;
        const status = opts.request
          ? await opts.request(url)
          : await fetch(url, { headers: opts.headers ?? {} }).then(async (res) => {
              await res.arrayBuffer();
              return res.status;
            });
        if (status !== (opts.expect ?? 200)) throw new Error(`${url}: ${status}`);
      }
    }),
  );
  const after = await read();
  return after.map((a, i) => ((a - before[i]!) * 1000) / n);
}
