/**
 * The cost of the API's Prometheus metrics (issue 25), on the host tier with api/main.ts as children:
 * two APIs on the same machine, one with METRICS_PORT=0 (no metrics middleware) and one with metrics,
 * loaded in turns (off, on, then on, off: ABBA) so that the machine's other load falls on both alike.
 *
 * - API CPU per request, closed loop (all requests complete before the CPU is read again), for GET
 *   /healthz (the cheapest route: the middleware's share is largest there) and GET /api/video/.
 * - GET /healthz throughput with 50 clients (autocannon).
 * - One scrape after the load: its size, its time, its series.
 * Both APIs are warmed up first (1000 requests and a 3 s load each, not counted).
 *
 *   node --import=tsx bench/metrics.ts     BENCH_DURATION=10 (seconds per load run), BENCH_ROUNDS=4
 */
import { parsePrometheus } from '@videoflix/testkit/prometheus';
import { freePort, hostTier, report, say } from './support/lib.js';
import { startApi, type BenchApi } from './support/api.js';
import { cpuPerRequest, drained, load } from './support/load.js';

const BENCH = 'metrics';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const { release } = await hostTier();
  const metricsPort = await freePort();
  let off: BenchApi | undefined;
  let on: BenchApi | undefined;
  try {
    off = await startApi('metrics-off', { METRICS_PORT: '0' });
    on = await startApi('metrics-on', { METRICS_PORT: String(metricsPort) });
    const apis = { off, on };
    // warm-up (not counted): both processes' JIT settles before the first measured round
    for (const api of [off, on]) {
      await cpuPerRequest([`${api.url}/healthz`, `${api.url}/api/video/`], [api.child.pid], {
        n: 1000,
        concurrency: 4,
        headers: { cookie: api.cookie },
      });
      await load({ url: `${api.url}/healthz`, connections: 50, durationSec: 3 });
    }
    const cpu = {
      health: { off: [] as number[], on: [] as number[] },
      list: { off: [] as number[], on: [] as number[] },
    };
    const rps = { off: [] as number[], on: [] as number[] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const which of round % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const api = apis[which];
        await drained(api.child.pid);
        const [h] = await cpuPerRequest([`${api.url}/healthz`], [api.child.pid], { n: 2000, concurrency: 4 });
        const [l] = await cpuPerRequest([`${api.url}/api/video/`], [api.child.pid], {
          n: 500,
          concurrency: 4,
          headers: { cookie: api.cookie },
        });
        const r = await load({
          url: `${api.url}/healthz`,
          connections: 50,
          durationSec: DURATION,
          serverPid: api.child.pid,
        });
        cpu.health[which].push(h!);
        cpu.list[which].push(l!);
        rps[which].push(r.rps);
        say(
          `  round ${round} metrics ${which}: /healthz ${h!.toFixed(3)} ms CPU/req, /api/video/ ${l!.toFixed(3)} ms CPU/req, /healthz ${r.rps.toFixed(0)} req/s (p99 ${r.p99} ms)`,
        );
      }
    }
    for (const [route, label] of [
      ['health', 'GET /healthz'],
      ['list', 'GET /api/video/'],
    ] as const) {
      const [a, b] = [mean(cpu[route].on), mean(cpu[route].off)];
      report({
        bench: BENCH,
        metric: `${label} API CPU per request with metrics`,
        value: a,
        unit: 'ms',
        baseline: { label: 'METRICS_PORT=0', value: b },
        ratio: a / b,
        note: `closed loop, mean of ${ROUNDS} rounds: +${((a - b) * 1000).toFixed(0)} µs per request`,
      });
    }
    report({
      bench: BENCH,
      metric: 'GET /healthz req/s with metrics (50 clients)',
      value: mean(rps.on),
      unit: 'req/s',
      baseline: { label: 'METRICS_PORT=0', value: mean(rps.off) },
      ratio: mean(rps.on) / mean(rps.off),
      note: `mean of ${ROUNDS} runs of ${DURATION} s each, alternating`,
    });
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await res.text();
    const ms = performance.now() - t0;
    const m = parsePrometheus(text);
    const series = [...m.families.values()].reduce((a, f) => a + f.samples.length, 0);
    report({
      bench: BENCH,
      metric: 'one scrape of the API after the load',
      value: ms,
      unit: 'ms',
      note: `${(text.length / 1024).toFixed(1)} KiB, ${m.families.size} families, ${series} samples (default process metrics included)`,
    });
  } finally {
    await on?.stop();
    await off?.stop();
    await release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
