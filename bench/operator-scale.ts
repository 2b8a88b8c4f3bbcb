// Over 300 lines: one benchmark read top to bottom (set-up, runs, the printed table), as its siblings.
/**
 * Benchmark 4 (issue 16): the operator at scale on the host tier.
 *
 * N Videos are created at once (50 requests in flight) against the real kube-apiserver while
 * operator/main.ts runs as a child process watching only their namespace, with the V8 flags its image
 * and chart give it (`operator.nodeOptions` in charts/videoflix/values.yaml, as NODE_OPTIONS). There
 * are no nodes, so each Video gets its thumbnail/probe Job and its rendition Jobs (all started
 * together) and waits there.
 * Reported per size: time until every Video has its Job, reconciles per second, the operator's
 * API-server requests per Video (counted inside the operator process by bench/support/
 * count-requests.ts; kube-apiserver's apiserver_request_total delta is shown beside it, which also
 * holds the job controller creating Pods), and the operator's peak memory (VmHWM).
 * Baseline: the time the API server takes to accept the same N creates with no operator running.
 *   BENCH_OPERATOR_SIZES=100,500 (default)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { API_VERSION, GROUP, KIND, PLURAL, RENDITIONS, VERSION, type Video } from '../common/video/index.js';
import { OWNED_JOBS_SELECTOR } from '../operator/video/jobs.js';
import { createTestNamespace, kubeConfig, uniqueName } from '@videoflix/testkit/kube';
import { waitFor } from '@videoflix/testkit/waiters';
import {
  BENCH_CACHE,
  freePort,
  hostTier,
  MiB,
  pool,
  procCpuSeconds,
  procMem,
  REPO_ROOT,
  report,
  say,
  startCountedOperator,
  startNode,
  waitHttpOk,
} from './support/lib.js';

const execFileP = promisify(execFile);
const BENCH = 'operator';
const SIZES = (process.env.BENCH_OPERATOR_SIZES ?? '100,500')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const IN_FLIGHT = 50;
/** Videos are created without `spec.renditions`: every rung is requested, plus the thumbnail Job. */
const JOBS_PER_VIDEO = 1 + RENDITIONS.length;
/** The operator's V8 flags as the chart (and the image) set them. */
const OPERATOR_NODE_OPTIONS = (
  YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'charts/videoflix/values.yaml'), 'utf8')) as {
    operator?: { nodeOptions?: string };
  }
).operator?.nodeOptions;
/** BENCH_OPERATOR_COMPILED=1: also compare the idle memory of tsx with the compiled build the image runs. */
const COMPILED = process.env.BENCH_OPERATOR_COMPILED === '1';

async function apiserverRequests(kubeconfig: string): Promise<number> {
  const { stdout } = await execFileP(
    path.join(REPO_ROOT, 'bin/kubectl'),
    ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'],
    { maxBuffer: 64 * MiB },
  );
  let sum = 0;
  for (const line of stdout.split('\n'))
    if (line.startsWith('apiserver_request_total{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function metric(text: string, name: string, filter = ''): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (
      line.startsWith(name) &&
      (line[name.length] === ' ' || line[name.length] === '{') &&
      line.includes(filter)
    )
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function videoBody(ns: string, name: string, bucket: string) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: ns },
    spec: { title: `Bench ${name}`, source: { bucket, key: `uploads/${name}.mp4` } },
  };
}

async function createAll(
  custom: k8s.CustomObjectsApi,
  ns: string,
  n: number,
  bucket: string,
): Promise<number> {
  const names = Array.from({ length: n }, (_, i) => `v${String(i).padStart(4, '0')}`);
  const t0 = performance.now();
  await pool(names, IN_FLIGHT, (name) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: videoBody(ns, name, bucket),
    }),
  );
  return performance.now() - t0;
}

async function main() {
  const { env, release } = await hostTier();
  const kc = kubeConfig();
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const s3bucket = `bench-src-${uniqueName('op').slice(3)}`;
  // (buckets are never created: with no node no Job runs, and nothing reaches the S3 server)
  const media = `bench-media-${uniqueName('op').slice(3)}`;
  try {
    for (const n of SIZES) {
      // Baseline: the API server accepting n creates alone.
      const baseNs = await createTestNamespace(kc, `bench-base-${n}`, { waitForServiceAccount: false });
      const baselineMs = await createAll(custom, baseNs, n, s3bucket);
      say(`  baseline: ${n} creates accepted in ${baselineMs.toFixed(0)} ms`);

      const ns = await createTestNamespace(kc, `bench-op-${n}`, { waitForServiceAccount: false });
      const port = await freePort();
      const countFile = path.join(BENCH_CACHE, `operator-requests-${n}.json`);
      const op = startCountedOperator({
        ns,
        name: `bench-operator-${n}`,
        port,
        countFile,
        mediaBucket: media,
        sourceBucket: s3bucket,
        env: { NODE_OPTIONS: OPERATOR_NODE_OPTIONS },
      });
      try {
        const url = `http://127.0.0.1:${port}`;
        await waitHttpOk(`${url}/readyz`, op);
        await waitFor(
          async () => (await (await fetch(`${url}/metrics`)).text()).includes('videoflix_operator_leader 1'),
          { timeoutMs: 60_000, what: 'operator leads' },
        );
        const idleRss = procMem(op.pid).rssKb;
        await new Promise((r) => setTimeout(r, 1500)); // let the count file settle
        const countsBefore = JSON.parse(fs.readFileSync(countFile, 'utf8')) as Record<string, number>;
        const apiBefore = await apiserverRequests(env.env.KUBECONFIG);
        const metricsBefore = await (await fetch(`${url}/metrics`)).text();

        const apiserverPid = env.state.processes['kube-apiserver']!.pid;
        const cpu0 = procCpuSeconds(op.pid);
        const apiCpu0 = procCpuSeconds(apiserverPid);
        const t0 = performance.now();
        let acceptedMs = 0;
        const creating = createAll(custom, ns, n, s3bucket).then((ms) => (acceptedMs = ms));
        let polls = 0;
        let lastJobs = 0;
        await waitFor(
          async () => {
            polls++;
            const jobs = await batch.listNamespacedJob({ namespace: ns, labelSelector: OWNED_JOBS_SELECTOR });
            lastJobs = jobs.items.length;
            return lastJobs >= n * JOBS_PER_VIDEO;
          },
          { timeoutMs: 300_000, intervalMs: 250, what: `${n * JOBS_PER_VIDEO} Jobs (have ${lastJobs})` },
        );
        const admittedMs = performance.now() - t0;
        await creating;
        // Settle: queue empty and no reconcile for 2 s (status writes, events of the Job watch).
        let lastCount = -1;
        let stableSince = performance.now();
        await waitFor(
          async () => {
            const m = await (await fetch(`${url}/metrics`)).text();
            const count = metric(m, 'videoflix_operator_reconcile_total');
            const depth = metric(m, 'videoflix_operator_workqueue_depth');
            if (count !== lastCount || depth > 0) {
              lastCount = count;
              stableSince = performance.now();
            }
            return performance.now() - stableSince > 2000;
          },
          { timeoutMs: 120_000, intervalMs: 250, what: 'operator idle' },
        );
        const settledMs = performance.now() - t0 - 2000;
        const opCpu = procCpuSeconds(op.pid) - cpu0;
        const apiserverCpu = procCpuSeconds(apiserverPid) - apiCpu0;
        const metricsAfter = await (await fetch(`${url}/metrics`)).text();
        const apiAfter = await apiserverRequests(env.env.KUBECONFIG);
        await new Promise((r) => setTimeout(r, 1200));
        const countsAfter = JSON.parse(fs.readFileSync(countFile, 'utf8')) as Record<string, number>;
        const mem = procMem(op.pid);
        const list = (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
        })) as { items: Video[] };
        const phases: Record<string, number> = {};
        for (const v of list.items)
          phases[v.status?.phase ?? '(none)'] = (phases[v.status?.phase ?? '(none)'] ?? 0) + 1;

        const reconciles =
          metric(metricsAfter, 'videoflix_operator_reconcile_total') -
          metric(metricsBefore, 'videoflix_operator_reconcile_total');
        const errors =
          metric(metricsAfter, 'videoflix_operator_reconcile_total', 'result="error"') -
          metric(metricsBefore, 'videoflix_operator_reconcile_total', 'result="error"');
        const byKind: Record<string, number> = {};
        let opRequests = 0;
        for (const [k, v] of Object.entries(countsAfter)) {
          const d = v - (countsBefore[k] ?? 0);
          if (d > 0) {
            byKind[k] = d;
            opRequests += d;
          }
        }
        const breakdown = Object.entries(byKind)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${(v / n).toFixed(2)}`)
          .join(', ');
        const label = `N=${n}`;
        report({
          bench: BENCH,
          metric: `${label}: all Jobs created`,
          value: admittedMs / 1000,
          unit: 's',
          baseline: { label: `${n} creates alone`, value: baselineMs / 1000 },
          ratio: admittedMs / baselineMs,
          goal: n >= 500 ? '< 60 s' : undefined,
          note: `creates with operator running took ${(acceptedMs / 1000).toFixed(1)} s; idle after ${(settledMs / 1000).toFixed(1)} s; phases ${JSON.stringify(phases)}`,
        });
        report({
          bench: BENCH,
          metric: `${label}: reconciles/s`,
          value: reconciles / (settledMs / 1000),
          unit: '/s',
          note: `${reconciles} reconciles (${(reconciles / n).toFixed(2)} per Video, ${errors} errors) in ${(settledMs / 1000).toFixed(1)} s; operator CPU ${opCpu.toFixed(1)} s (${((opCpu * 1000) / Math.max(1, reconciles)).toFixed(0)} ms/reconcile, ${((100 * opCpu) / (settledMs / 1000)).toFixed(0)} % of one core); kube-apiserver CPU ${apiserverCpu.toFixed(1)} s`,
        });
        report({
          bench: BENCH,
          metric: `${label}: operator API requests per Video`,
          value: opRequests / n,
          unit: 'req',
          goal: 'flat in N',
          note: `${opRequests} in all: ${breakdown}; kube-apiserver counted ${apiAfter - apiBefore} (all clients, incl. ${n} creates, job controller Pods, ${polls} bench polls) = ${((apiAfter - apiBefore) / n).toFixed(1)}/Video`,
        });
        report({
          bench: BENCH,
          metric: `${label}: operator peak memory (VmHWM)`,
          value: mem.hwmKb / 1024,
          unit: 'MiB',
          baseline: { label: 'idle RSS', value: idleRss / 1024 },
          ratio: mem.hwmKb / idleRss,
          goal: '< 250 MiB',
          note: `RSS at end ${(mem.rssKb / 1024).toFixed(0)} MiB; NODE_OPTIONS ${OPERATOR_NODE_OPTIONS ?? '(none)'}`,
        });
      } finally {
        await op.stop();
      }
    }
    if (COMPILED) await idleMemoryCompiled(media, s3bucket);
  } finally {
    await release();
  }
}

/**
 * The image runs `node dist/operator/main.js` (tsc output, images/operator/Dockerfile); the benchmark
 * runs operator/main.ts under tsx, whose compiler and caches live in the same heap. Both idle, the
 * difference is what tsx adds to the figures above.
 */
async function idleMemoryCompiled(media: string, sources: string) {
  const dist = path.join(BENCH_CACHE, 'dist');
  const t0 = performance.now();
  await execFileP(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', dist],
    { cwd: REPO_ROOT, maxBuffer: 16 * MiB },
  );
  say(`  tsc build in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const kc = kubeConfig();
  const rss: Record<string, number> = {};
  for (const [label, script, plain] of [
    ['tsx', path.join(REPO_ROOT, 'operator/main.ts'), false],
    ['compiled', path.join(dist, 'operator/main.js'), true],
  ] as const) {
    const ns = await createTestNamespace(kc, `bench-idle-${label}`, { waitForServiceAccount: false });
    const port = await freePort();
    const op = startNode(
      script,
      {
        LOG_LEVEL: 'warn',
        WATCH_NAMESPACE: ns,
        POD_NAMESPACE: ns,
        POD_NAME: `bench-idle-${label}`,
        HTTP_PORT: String(port),
        HTTP_HOST: '127.0.0.1',
        S3_MEDIA_BUCKET: media,
        S3_SOURCE_BUCKET: sources,
        AMQP_EXCHANGE: `bench.idle.${ns}`,
        NODE_OPTIONS: OPERATOR_NODE_OPTIONS,
      },
      { plain },
    );
    try {
      await waitHttpOk(`http://127.0.0.1:${port}/readyz`, op);
      await new Promise((r) => setTimeout(r, 3000));
      rss[label] = procMem(op.pid).rssKb / 1024;
    } finally {
      await op.stop();
    }
  }
  report({
    bench: BENCH,
    metric: 'operator idle RSS, compiled (as the image runs it)',
    value: rss.compiled!,
    unit: 'MiB',
    baseline: { label: 'under tsx', value: rss.tsx! },
    ratio: rss.compiled! / rss.tsx!,
    note: `tsx adds ${(rss.tsx! - rss.compiled!).toFixed(0)} MiB to every operator figure above`,
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`operator-scale failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
