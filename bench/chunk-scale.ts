/**
 * Issue 24: time to Ready against the number of nodes, on the kind platform of `make dev` with two
 * workers (CLUSTER_WORKERS=2). This machine's nodes share its 2 cores, so more nodes add no CPU; the
 * check splits the cores with CPU limits instead: a chunked 480p rendition (its chunk Pods limited to the
 * 480p rung's 1 CPU) of a generated 1080p source (BENCH_SCALE_SECONDS, default 300 s, chunks of 30 s):
 *
 * - run A, "one node of one core": the second worker cordoned, spec.chunking.parallelism 1;
 * - run B, "two nodes of one core": both workers, parallelism 2 (the chunks' spread preference puts one
 *   on each worker).
 *
 * From run A's pieces (probe + audio, per-chunk Pod fixed cost and encode, stitch, publish) the model
 * `T(N) = probe + lead + ceil(K / N) · t_chunk + (ceil(K / N) − 1) · gap + tail + publish` predicts run B
 * (lead: probe done → first chunk running; gap: a chunk's exit → the next chunk running on its slot; tail:
 * the last chunk's exit → the stitch Job complete); the bench prints the
 * prediction, the measurement and their ratio, and the issue's goal T(N) ≤ 1.3 · T(1) / N + 60 s.
 * The Videos are created with kubectl against a source put into the sources bucket with the API's S3
 * identity (support/kind.ts directS3), and deleted at the end; the cordon is always undone.
 *   BENCH_API_URL, BENCH_KUBECONFIG (from .dev/endpoints.env, hack/bench.sh sets them), BENCH_SCALE_SECONDS
 */
import { API_VERSION, KIND, LABELS, type Video } from '../common/video/index.js';
import { createMediaDir } from '@videoflix/testkit/media';
import { directS3, kubectl, kubectlJson, NAMESPACE, platformEnv } from './support/kind.js';
import { notRun, report, say } from './support/lib.js';

const BENCH = 'chunk-scale';
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 300);
const CHUNK = 30;

interface Pod {
  metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: {
    containerStatuses?: Array<{
      state?: { terminated?: { startedAt: string; finishedAt: string; exitCode: number } };
    }>;
  };
}
interface Job {
  metadata: { name: string; creationTimestamp: string };
  status: { completionTime?: string; startTime?: string };
}
const t = (s: string | undefined) => (s ? Date.parse(s) : NaN);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface RunFigures {
  totalS: number;
  probeS: number;
  chunkCount: number;
  fixedS: number;
  chunkS: number;
  stitchS: number;
  publishS: number;
  nodes: string[];
  /** Probe Job complete → the first chunk's container started (the operator's chunk Job, its first Pod). */
  leadS: number;
  /** Mean gap between one chunk's exit and the start of the chunk that followed it on its slot
   * (the Job controller's turnaround, the next Pod's creation and container start). */
  gapS: number;
  /** The last chunk's exit → the stitch Job complete (its creation included). */
  tailS: number;
}

interface Upload {
  (label: string): Promise<{ bucket: string; key: string }>;
}

async function runOnce(kc: string, upload: Upload, label: string, parallelism: number): Promise<RunFigures> {
  const name = `bench-scale-${label}-${Date.now().toString(36)}`;
  // each run its own copy: deleting a Video deletes its source (the operator's finalizer)
  const source = await upload(label);
  const video = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: NAMESPACE, labels: { 'bench.videoflix.io/suite': BENCH } },
    spec: {
      title: `bench ${BENCH} ${label}`,
      source,
      renditions: ['480p'],
      chunking: { thresholdSeconds: 60, chunkSeconds: CHUNK, parallelism },
    },
  };
  await kubectl(kc, ['create', '-f', '-'], JSON.stringify(video));
  try {
    const deadline = Date.now() + 60 * 60_000;
    let v: Video;
    for (;;) {
      v = await kubectlJson<Video>(kc, ['get', `videos.${API_VERSION.split('/')[0]}`, name, '-n', NAMESPACE]);
      if (v.status?.phase === 'Failed') throw new Error(`${name} Failed: ${v.status.message ?? ''}`);
      if (v.status?.phase === 'Ready') break;
      if (Date.now() > deadline) throw new Error(`${name} not Ready after 60 min`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const created = t(String(v.metadata.creationTimestamp));
    const readyAt = t(v.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime);
    const jobs = (
      await kubectlJson<{ items: Job[] }>(kc, [
        'get',
        'jobs',
        '-n',
        NAMESPACE,
        '-l',
        `${LABELS.video}=${name}`,
      ])
    ).items;
    const job = (suffix: string) => jobs.find((j) => j.metadata.name.endsWith(suffix));
    const probe = job('-thumbnail');
    const stitch = job('-stitch');
    const pods = (
      await kubectlJson<{ items: Pod[] }>(kc, [
        'get',
        'pods',
        '-n',
        NAMESPACE,
        '-l',
        `batch.kubernetes.io/job-name=${name}-480p-chunks`,
      ])
    ).items;
    const done = pods
      .map((p) => ({ p, term: p.status.containerStatuses?.[0]?.state?.terminated }))
      .filter((x) => x.term?.exitCode === 0);
    const fixed = done.map((x) => (t(x.term!.startedAt) - t(x.p.metadata.creationTimestamp)) / 1000);
    const encode = done.map((x) => (t(x.term!.finishedAt) - t(x.term!.startedAt)) / 1000);
    const starts = done.map((x) => t(x.term!.startedAt)).sort((x, y) => x - y);
    const ends = done.map((x) => t(x.term!.finishedAt)).sort((x, y) => x - y);
    // with `parallelism` slots, the chunk started k-th after the first `parallelism` took the slot the
    // k-th exit freed: its gap is start − that exit
    const gaps = starts.slice(parallelism).map((st, k) => (st - ends[k]!) / 1000);
    return {
      leadS: (starts[0]! - t(probe?.status.completionTime)) / 1000,
      gapS: gaps.length ? mean(gaps) : 0,
      tailS: (t(stitch?.status.completionTime) - ends[ends.length - 1]!) / 1000,
      totalS: (readyAt - created) / 1000,
      probeS: (t(probe?.status.completionTime) - created) / 1000,
      chunkCount: done.length,
      fixedS: mean(fixed),
      chunkS: mean(encode),
      stitchS: (t(stitch?.status.completionTime) - t(stitch?.metadata.creationTimestamp)) / 1000,
      publishS: (readyAt - t(stitch?.status.completionTime)) / 1000,
      nodes: [...new Set(done.map((x) => x.p.spec.nodeName ?? '?'))].sort(),
    };
  } finally {
    await kubectl(kc, [
      'delete',
      `videos.${API_VERSION.split('/')[0]}`,
      name,
      '-n',
      NAMESPACE,
      '--wait=false',
    ]).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const env = platformEnv();
  if (!env)
    return notRun(
      BENCH,
      process.env.BENCH_PLATFORM_REASON ||
        'BENCH_API_URL/BENCH_KUBECONFIG not set (the kind platform of make dev)',
    );
  const kc = env.kubeconfig;
  const workers = (
    await kubectlJson<{ items: Array<{ metadata: { name: string }; spec: { taints?: unknown[] } }> }>(kc, [
      'get',
      'nodes',
    ])
  ).items
    .filter((n) => !(n.spec.taints ?? []).length)
    .map((n) => n.metadata.name)
    .sort();
  if (workers.length < 2)
    return notRun(
      BENCH,
      `needs two schedulable workers (CLUSTER_WORKERS=2 make dev), found ${workers.length}`,
    );
  const media = await createMediaDir('videoflix-bench-scale-');
  const s3 = await directS3(kc);
  const keys: string[] = [];
  try {
    say(`[${BENCH}] generating a ${SECONDS} s 1080p source`);
    const clip = await media.clip({ durationSec: SECONDS, width: 1920, height: 1080, audio: true });
    const source: Upload = async (label) => {
      const key = `bench/${BENCH}/${Date.now().toString(36)}-${label}/source.mp4`;
      await s3.client.fPutObject(s3.sourceBucket, key, clip, { 'Content-Type': 'video/mp4' });
      keys.push(key);
      return { bucket: s3.sourceBucket, key };
    };

    say(`[${BENCH}] run A: ${workers[1]} cordoned, one chunk Pod at a time`);
    await kubectl(kc, ['cordon', workers[1]!]);
    let a: RunFigures;
    try {
      a = await runOnce(kc, source, 'a', 1);
    } finally {
      await kubectl(kc, ['uncordon', workers[1]!]);
    }
    say(`[${BENCH}] run B: both workers, two chunk Pods at a time`);
    const b = await runOnce(kc, source, 'b', 2);

    for (const [label, r] of [
      ['A (1 node × 1 core)', a],
      ['B (2 nodes × 1 core)', b],
    ] as const) {
      report({
        bench: BENCH,
        metric: `run ${label}: create → Ready`,
        value: r.totalS,
        unit: 's',
        note: `${r.chunkCount} chunks on ${r.nodes.join(', ')}`,
      });
      report({ bench: BENCH, metric: `run ${label}: probe + audio pieces`, value: r.probeS, unit: 's' });
      report({
        bench: BENCH,
        metric: `run ${label}: chunk Pod fixed cost (created → container started), mean`,
        value: r.fixedS,
        unit: 's',
      });
      report({
        bench: BENCH,
        metric: `run ${label}: chunk encode (container start → exit), mean`,
        value: r.chunkS,
        unit: 's',
      });
      report({
        bench: BENCH,
        metric: `run ${label}: stitch Job (created → complete)`,
        value: r.stitchS,
        unit: 's',
      });
      report({
        bench: BENCH,
        metric: `run ${label}: stitch complete → Ready (checks, playlists, master)`,
        value: r.publishS,
        unit: 's',
      });
    }
    for (const [label, r] of [
      ['A', a],
      ['B', b],
    ] as const)
      report({
        bench: BENCH,
        metric: `run ${label}: probe done → first chunk started; gap between chunks on a slot; last chunk → stitch complete`,
        value: r.gapS,
        unit: 's',
        note: `lead ${r.leadS.toFixed(1)} s, gap ${r.gapS.toFixed(2)} s (the Job controller's turnaround + the next Pod's start), tail ${r.tailS.toFixed(1)} s`,
      });
    // T(N) = probe + lead + ⌈K/N⌉·t_chunk + (⌈K/N⌉ − 1)·gap + tail + publish, every piece from run A
    // (or, with `chunk`, one chunk's encode as run B measured it: the two "nodes" here share 2 cores
    // with the control plane, so two encodes at once run slower than one; the model assumes nodes of their own)
    const predict = (n: number, chunk = a.chunkS) => {
      const rounds = Math.ceil(a.chunkCount / n);
      return a.probeS + a.leadS + rounds * chunk + (rounds - 1) * a.gapS + a.tailS + a.publishS;
    };
    report({
      bench: BENCH,
      metric: 'run A measured against the model from its own pieces (N = 1)',
      value: a.totalS,
      unit: 's',
      baseline: { label: 'predicted', value: predict(1), unit: 's' },
      ratio: a.totalS / predict(1),
    });
    report({
      bench: BENCH,
      metric: 'run B measured against the model from run A (N = 2)',
      value: b.totalS,
      unit: 's',
      baseline: { label: 'predicted', value: predict(2), unit: 's' },
      ratio: b.totalS / predict(2),
      note: `ratio = measured / predicted; with run B's own chunk encode (${b.chunkS.toFixed(1)} s against run A's ${a.chunkS.toFixed(1)} s: the two workers share this VM's 2 cores) the model gives ${predict(2, b.chunkS).toFixed(1)} s, ratio ${(b.totalS / predict(2, b.chunkS)).toFixed(2)}`,
    });
    const goal = 1.3 * (a.totalS / 2) + 60;
    report({
      bench: BENCH,
      metric: 'goal: T(2) ≤ 1.3 · T(1) / 2 + 60 s',
      value: b.totalS,
      unit: 's',
      baseline: { label: '1.3 · T(1) / 2 + 60 s', value: goal, unit: 's' },
      ratio: b.totalS / goal,
      note: b.totalS <= goal ? 'met' : 'missed',
    });
  } finally {
    for (const key of keys) await s3.client.removeObject(s3.sourceBucket, key).catch(() => undefined);
    await s3.stop();
    await media.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
