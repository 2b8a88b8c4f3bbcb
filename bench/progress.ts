/**
 * The cost of progress reporting (issue 25), on the host tier:
 *
 * 1. encode: the transcoder program (`transcoder-image/main.ts rendition 480p`, as a Job runs it) on a
 *    BENCH_PROGRESS_SECONDS (20) s 1080p H.264/AAC source from the host tier's S3 server, alternately
 *    with progress reports (PROGRESS_AMQP_URL set, the default 3 s pace, the exchange declared and a
 *    queue bound as the operator's) and without (no URL), BENCH_PROGRESS_RUNS (3) times each: median wall
 *    time, and the reports sent. Baseline: the encode without progress.
 * 2. operator: `operator/main.ts` as a child process (its requests counted in-process by
 *    bench/support/count-requests.ts), BENCH_PROGRESS_VIDEOS (20) Videos created at once; once all their
 *    Jobs exist (no node: they stay running), every rendition of every Video reports every 3 s (what the
 *    transcoders send by default) for BENCH_PROGRESS_WINDOW (30) s. API-server requests per Video over
 *    the whole run and status PATCHes per Video, with PROGRESS_WRITE_INTERVAL=5 (the default) and 0
 *    (progress off: the same reports, not consumed). Baseline: progress off.
 *
 * Run: `node --import=tsx bench/progress.ts` (or `hack/bench.sh progress`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import amqp from 'amqplib';
import { minioFrom } from '../operator/storage.js';
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  PROGRESS_MESSAGE_TYPE,
  RENDITIONS,
  VERSION,
  type ProgressMessage,
  type Video,
} from '../common/video/index.js';
import { OWNED_JOBS_SELECTOR } from '../operator/video/jobs.js';
import { generateClip } from '@videoflix/testkit/media';
import { createTestNamespace, kubeConfig, uniqueName } from '@videoflix/testkit/kube';
import { waitFor } from '@videoflix/testkit/waiters';
import {
  BENCH_CACHE,
  freePort,
  hostTier,
  pool,
  report,
  REPO_ROOT,
  say,
  startCountedOperator,
  waitHttpOk,
} from './support/lib.js';

const BENCH = 'progress';
const RUNS = Number(process.env.BENCH_PROGRESS_RUNS ?? 3);
const SOURCE_SECONDS = Number(process.env.BENCH_PROGRESS_SECONDS ?? 20);
const VIDEOS = Number(process.env.BENCH_PROGRESS_VIDEOS ?? 20);
const WINDOW_S = Number(process.env.BENCH_PROGRESS_WINDOW ?? 30);
const REPORT_EVERY_S = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const s3 = () =>
  minioFrom(
    process.env.S3_ENDPOINT!,
    process.env.S3_REGION ?? 'us-east-1',
    process.env.S3_ACCESS_KEY!,
    process.env.S3_SECRET_KEY!,
  );

async function encodeBench(): Promise<void> {
  const client = s3();
  const tag = uniqueName('pb').slice(3);
  const sources = `bench-psrc-${tag}`;
  const media = `bench-pmedia-${tag}`;
  const exchange = `bench.progress.${tag}`;
  await client.makeBucket(sources);
  await client.makeBucket(media);
  const dir = fs.mkdtempSync(path.join(BENCH_CACHE, 'progress-'));
  const conn = await amqp.connect(process.env.AMQP_URL!);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  const q = (await ch.assertQueue('', { exclusive: true, autoDelete: true })).queue;
  await ch.bindQueue(q, exchange, '#');
  let received = 0;
  await ch.consume(q, () => received++, { noAck: true });
  try {
    const clip = await generateClip(dir, { width: 1920, height: 1080, durationSec: SOURCE_SECONDS, fps: 30 });
    await client.fPutObject(sources, 'source.mp4', clip, {});
    const run = async (id: string, progress: boolean) => {
      const started = performance.now();
      const child = spawn(
        process.execPath,
        ['--import=tsx', 'transcoder-image/main.ts', 'rendition', '480p'],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            LOG_LEVEL: 'info',
            VIDEO_ID: id,
            SOURCE_BUCKET: sources,
            SOURCE_KEY: 'source.mp4',
            MEDIA_BUCKET: media,
            TERMINATION_MESSAGE_PATH: path.join(dir, `term-${id}`),
            WORK_DIR: dir,
            ...(progress ? { PROGRESS_AMQP_URL: process.env.AMQP_URL!, PROGRESS_EXCHANGE: exchange } : {}),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      if (code !== 0) throw new Error(`transcoder exited ${code}: ${out.slice(-2000)}`);
      const sent = /"progressReports":\{"sent":(\d+)/.exec(out)?.[1];
      return { seconds: (performance.now() - started) / 1000, sent: sent ? Number(sent) : 0 };
    };
    const withP: number[] = [];
    const without: number[] = [];
    const sent: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // alternate, so both see the same load drift
      const a = await run(`off-${i}-${tag}`, false);
      without.push(a.seconds);
      const b = await run(`on-${i}-${tag}`, true);
      withP.push(b.seconds);
      sent.push(b.sent);
      say(
        `  run ${i + 1}: without ${a.seconds.toFixed(2)} s, with ${b.seconds.toFixed(2)} s (${b.sent} reports)`,
      );
    }
    const on = median(withP);
    const off = median(without);
    report({
      bench: BENCH,
      metric: `encode 480p of a ${SOURCE_SECONDS} s 1080p source, with progress reports (median of ${RUNS})`,
      value: on,
      unit: 's',
      baseline: { label: 'the same encode without progress', value: off },
      ratio: on / off,
      note: `${median(sent)} reports per encode (every ${REPORT_EVERY_S} s), ${received} received in all`,
    });
  } finally {
    await ch.deleteExchange(exchange).catch(() => undefined);
    await conn.close().catch(() => undefined);
    for (const bucket of [sources, media]) {
      const names: string[] = [];
      for await (const o of client.listObjectsV2(bucket, '', true)) names.push((o as { name: string }).name);
      if (names.length) await client.removeObjects(bucket, names).catch(() => undefined);
      await client.removeBucket(bucket).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface OperatorRun {
  requestsPerVideo: number;
  patchesPerVideo: number;
  byKind: Record<string, number>;
}

async function operatorRun(kc: k8s.KubeConfig, writeInterval: number): Promise<OperatorRun> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const ns = await createTestNamespace(kc, `bench-progress-${writeInterval}`, {
    waitForServiceAccount: false,
  });
  const exchange = `bench.progress.${ns}`;
  const port = await freePort();
  const countFile = path.join(BENCH_CACHE, `progress-requests-${writeInterval}.json`);
  const op = startCountedOperator({
    ns,
    name: `bench-operator-${writeInterval}`,
    port,
    countFile,
    mediaBucket: `bench-media-${ns}`,
    sourceBucket: `bench-src-${ns}`,
    env: {
      PROGRESS_EXCHANGE: exchange,
      PROGRESS_WRITE_INTERVAL: String(writeInterval),
      MEDIA_CHECK_INTERVAL_SECONDS: '0',
    },
  });
  const conn = await amqp.connect(process.env.AMQP_URL!);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHttpOk(`${url}/readyz`, op);
    await waitFor(
      async () => (await (await fetch(`${url}/metrics`)).text()).includes('videoflix_operator_leader 1'),
      { timeoutMs: 60_000, what: 'operator leads' },
    );
    const ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true }); // the operator declares it too
    await sleep(1500);
    const before = JSON.parse(fs.readFileSync(countFile, 'utf8')) as Record<string, number>;
    const names = Array.from({ length: VIDEOS }, (_, i) => `p-${i}`);
    await pool(names, 20, (name) =>
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name, namespace: ns },
          spec: { title: name, source: { bucket: `bench-src-${ns}`, key: `${name}.mp4` } },
        },
      }),
    );
    await waitFor(
      async () =>
        (await batch.listNamespacedJob({ namespace: ns, labelSelector: OWNED_JOBS_SELECTOR })).items.length >=
        VIDEOS * (1 + RENDITIONS.length),
      { timeoutMs: 120_000, intervalMs: 500, what: 'every Job' },
    );
    const videos = async () =>
      (
        (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
        })) as {
          items: Video[];
        }
      ).items;
    const uids = (await videos()).map((v) => v.metadata.uid!);
    // the encode window: each rendition of each Video reports every 3 s, as a transcoder does
    const steps = Math.floor(WINDOW_S / REPORT_EVERY_S);
    for (let s = 1; s <= steps; s++) {
      for (const uid of uids)
        for (const rendition of RENDITIONS) {
          const percent = Math.min(100, (s / steps) * 100);
          const msg: ProgressMessage = {
            uid,
            rendition,
            percent,
            encodedSeconds: (percent / 100) * 60,
            durationSeconds: 60,
            speed: 1.2,
            etaSeconds: ((100 - percent) / 100) * 50,
            at: new Date().toISOString(),
          };
          ch.publish(exchange, uid, Buffer.from(JSON.stringify(msg)), { type: PROGRESS_MESSAGE_TYPE });
        }
      await sleep(REPORT_EVERY_S * 1000);
    }
    await sleep(writeInterval * 1000 + 2000); // the last coalesced writes
    const after = JSON.parse(fs.readFileSync(countFile, 'utf8')) as Record<string, number>;
    const byKind: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of Object.entries(after)) {
      const d = v - (before[k] ?? 0);
      if (d > 0) {
        byKind[k] = d;
        total += d;
      }
    }
    const summaries = (await videos()).map((v) => v.status?.progressSummary ?? '-');
    say(
      `  PROGRESS_WRITE_INTERVAL=${writeInterval}: PROGRESS column now ${[...new Set(summaries)].join(' ')}`,
    );
    return {
      requestsPerVideo: total / VIDEOS,
      patchesPerVideo: (byKind['PATCH videos/status'] ?? 0) / VIDEOS,
      byKind,
    };
  } finally {
    await conn.close().catch(() => undefined);
    await op.stop();
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespace({ name: ns })
      .catch(() => undefined);
  }
}

async function operatorBench(): Promise<void> {
  const kc = kubeConfig();
  const off = await operatorRun(kc, 0);
  say(`  off: ${JSON.stringify(off.byKind)}`);
  const on = await operatorRun(kc, 5);
  say(`  on:  ${JSON.stringify(on.byKind)}`);
  const reports = Math.floor(WINDOW_S / REPORT_EVERY_S) * RENDITIONS.length;
  report({
    bench: BENCH,
    metric: `operator API requests per Video (${VIDEOS} Videos, ${WINDOW_S} s of reports: ${reports} per Video), PROGRESS_WRITE_INTERVAL=5`,
    value: on.requestsPerVideo,
    baseline: { label: 'progress off (PROGRESS_WRITE_INTERVAL=0)', value: off.requestsPerVideo },
    ratio: on.requestsPerVideo / off.requestsPerVideo,
    note: `status PATCHes per Video ${on.patchesPerVideo.toFixed(1)} (off: ${off.patchesPerVideo.toFixed(1)})`,
  });
}

async function main() {
  const { release } = await hostTier();
  try {
    const only = process.argv[2];
    if (!only || only === 'encode') await encodeBench();
    if (!only || only === 'operator') await operatorBench();
  } finally {
    await release();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
