/**
 * Helpers for the operator's integration tests on the host tier: the operator runs in-process
 * against the real kube-apiserver (+ job and GC controllers), versitygw and RabbitMQ. There are no
 * nodes, so the tests play the transcoder: they write probe.json / rendition.json / playlists into
 * the S3 server and set Job status themselves, as envtest-based controller tests do.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import amqp from 'amqplib';
import type { Client as MinioClient } from 'minio';
import { createLogger } from '../../../common/logging/index.js';
import {
  API_VERSION,
  FINALIZER,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  keys,
  segmentName,
  type ProbeResult,
  type RenditionMetadata,
  type RenditionName,
  type Video,
  type VideoSpec,
  type VideoStatusMessage,
} from '../../../common/video/index.js';
import { VideoController, type ControllerOptions } from '../../../operator/video/controller.js';
import { minioFrom } from '../../../operator/storage.js';
import {
  DEFAULT_RESOURCES,
  OWNED_JOBS_SELECTOR,
  type ChunkingDefaults,
} from '../../../operator/video/jobs.js';
import { MemorySink, type StatusSink } from '../../../operator/video/publish.js';
import { applyCrds } from '../../support/hostenv.js';
import {
  apiStatus,
  createTestNamespace,
  deleteNamespace,
  kubeConfig,
  uniqueName,
} from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** probe.json of a 30 s 1920x1080 H.264 source with audio (the thumbnail Job's result, as the tests play it). */
export const PROBE_1080 = {
  durationSeconds: 30,
  width: 1920,
  height: 1080,
  hasAudio: true,
  videoCodec: 'h264',
  frameRate: 25,
};

export function clients() {
  const kc = kubeConfig();
  return {
    kc,
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    batch: kc.makeApiClient(k8s.BatchV1Api),
    core: kc.makeApiClient(k8s.CoreV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
  };
}

/** The CRD as the repository has it (crds/ is the single source), applied and Established. */
export async function applyVideoCrd(): Promise<void> {
  await applyCrds(process.env.KUBECONFIG!, [path.join(REPO_ROOT, 'crds')]);
}

export function s3(): MinioClient {
  const e = process.env;
  return minioFrom(e.S3_ENDPOINT!, e.S3_REGION ?? 'us-east-1', e.S3_ACCESS_KEY!, e.S3_SECRET_KEY!);
}

export async function makeBuckets(client: MinioClient): Promise<{ media: string; sources: string }> {
  const suffix = uniqueName('b').slice(2);
  const media = `op-media-${suffix}`;
  const sources = `op-src-${suffix}`;
  await client.makeBucket(media, process.env.S3_REGION ?? 'us-east-1');
  await client.makeBucket(sources, process.env.S3_REGION ?? 'us-east-1');
  return { media, sources };
}

export async function listKeys(client: MinioClient, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of client.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string }>)
    if (o.name) out.push(o.name);
  return out.sort();
}

export async function readText(client: MinioClient, bucket: string, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await client.getObject(bucket, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface RunningOperator {
  controller: VideoController;
  sink: StatusSink;
  stop(): Promise<void>;
}

export interface OperatorTestOptions {
  namespace: string;
  mediaBucket: string;
  sourceBucket: string;
  identity?: string;
  sink?: StatusSink;
  leaderElection?: ControllerOptions['leaderElection'];
  backoffLimit?: number;
  /** The media auditor's pace (default: the controller's, 300 s between sweeps). */
  mediaCheck?: ControllerOptions['mediaCheck'];
  /** Credentials other than the admin's (RBAC test). */
  kubeConfig?: k8s.KubeConfig;
  /** Record the transcoders' progress (coalesced status writes). */
  progress?: ControllerOptions['progress'];
  /** Chunked transcoding (CHUNK_*); absent = never chunked, as before issue 24. */
  chunking?: ChunkingDefaults;
}

export async function startOperator(o: OperatorTestOptions): Promise<RunningOperator> {
  const identity = o.identity ?? uniqueName('op');
  const sink = o.sink ?? new MemorySink();
  const controller = new VideoController({
    kubeConfig: o.kubeConfig ?? kubeConfig(),
    storage: s3(),
    mediaBucket: o.mediaBucket,
    sourceBucket: o.sourceBucket,
    sink,
    logger: createLogger(`operator-${identity}`, { level: process.env.OPERATOR_TEST_LOG ?? 'silent' }),
    identity,
    namespace: o.namespace,
    leaderElection: o.leaderElection ?? false,
    workers: 4,
    resyncMs: 30_000,
    watchdogMs: 60_000,
    relistMs: 120_000,
    queue: { baseDelayMs: 50, maxDelayMs: 2_000 },
    ...(o.mediaCheck ? { mediaCheck: o.mediaCheck } : {}),
    ...(o.progress ? { progress: o.progress } : {}),
    decide: {
      jobs: {
        image: 'videoflix-transcoder:test',
        imagePullPolicy: 'IfNotPresent',
        serviceAccountName: 'videoflix-transcoder',
        storageSecretName: 'videoflix-storage',
        accessKeyKey: 'S3_ACCESS_KEY',
        secretKeyKey: 'S3_SECRET_KEY',
        s3Endpoint: process.env.S3_ENDPOINT!,
        s3Region: process.env.S3_REGION ?? 'us-east-1',
        mediaBucket: o.mediaBucket,
        backoffLimit: o.backoffLimit ?? 2,
        activeDeadlineSeconds: { thumbnail: 600, rendition: 3600 },
        runAsUser: 1000,
        runAsGroup: 1000,
        resources: DEFAULT_RESOURCES,
        instance: 'videoflix-test',
        tmpSizeLimit: '1Gi',
        ...(o.chunking ? { chunking: o.chunking } : {}),
      },
    },
  });
  await controller.start();
  return { controller, sink, stop: () => controller.stop() };
}

/** startOperator's options other than the suite's namespace and buckets. */
export type SuiteOperatorOptions = Omit<OperatorTestOptions, 'namespace' | 'mediaBucket' | 'sourceBucket'>;

/** What useOperatorSuite sets up; `ns`, `buckets` and `op` are filled in by its hooks. */
export interface OperatorSuite extends ReturnType<typeof clients> {
  storage: MinioClient;
  ns: string;
  buckets: { media: string; sources: string };
  op?: RunningOperator;
  /** Starts the operator on the suite's namespace and buckets (stopped by the suite's clean-up). */
  start(o?: SuiteOperatorOptions): Promise<RunningOperator>;
}

/**
 * The set-up of an operator test file, in its describe(): the CRD applied and the buckets made once;
 * a test namespace (`prefix`) with the transcoder ServiceAccount for each test (`perTest`) or for
 * the file; the operator started with `operator`'s options when given (else by the test, `start`);
 * after: the operator stopped and the namespace dropped.
 */
export function useOperatorSuite(
  prefix: string,
  o: { perTest?: boolean; operator?: SuiteOperatorOptions } = {},
): OperatorSuite {
  const s: OperatorSuite = {
    ...clients(),
    storage: s3(),
    ns: '',
    buckets: { media: '', sources: '' },
    start: async (x = {}) => {
      const op = await startOperator({
        namespace: s.ns,
        mediaBucket: s.buckets.media,
        sourceBucket: s.buckets.sources,
        ...x,
      });
      s.op = op;
      return op;
    },
  };
  const setUp = async () => {
    s.ns = await createTestNamespace(s.kc, prefix);
    await ensureTranscoderServiceAccount(s.core, s.ns);
    if (o.operator) await s.start(o.operator);
  };
  const tearDown = async () => {
    await s.op?.stop();
    s.op = undefined;
    if (s.ns) await dropNamespace(s.kc, s.custom, s.ns);
    s.ns = '';
  };
  before(async () => {
    await applyVideoCrd();
    s.buckets = await makeBuckets(s.storage);
    if (!o.perTest) await setUp();
  });
  if (o.perTest) {
    beforeEach(setUp);
    afterEach(tearDown);
  } else after(tearDown);
  return s;
}

export async function createVideo(
  custom: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
  spec: Partial<VideoSpec> & { source: VideoSpec['source'] },
  annotations?: Record<string, string>,
): Promise<Video> {
  return (await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
      spec: { title: `Video ${name}`, ...spec },
    },
  })) as Video;
}

export async function getVideo(
  custom: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<Video> {
  return (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as Video;
}

export async function videoGone(
  custom: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<boolean> {
  try {
    await getVideo(custom, namespace, name);
    return false;
  } catch (err) {
    if (apiStatus(err) === 404) return true;
    throw err;
  }
}

export async function waitPhase(
  custom: k8s.CustomObjectsApi,
  namespace: string,
  name: string,
  phase: string,
  timeoutMs = 20_000,
): Promise<Video> {
  let last: unknown;
  return waitFor(
    async () => {
      const v = await getVideo(custom, namespace, name);
      last = v.status;
      return v.status?.phase === phase && v.status.observedGeneration === v.metadata.generation
        ? v
        : undefined;
    },
    { timeoutMs, what: `Video ${namespace}/${name} phase ${phase} (status: ${JSON.stringify(last)})` },
  );
}

export async function ownedJobs(batch: k8s.BatchV1Api, namespace: string): Promise<k8s.V1Job[]> {
  return (await batch.listNamespacedJob({ namespace, labelSelector: OWNED_JOBS_SELECTOR })).items;
}

export async function waitJobs(
  batch: k8s.BatchV1Api,
  namespace: string,
  names: string[],
  timeoutMs = 15_000,
): Promise<k8s.V1Job[]> {
  return waitFor(
    async () => {
      const jobs = await ownedJobs(batch, namespace);
      const have = jobs.map((j) => j.metadata?.name ?? '');
      return names.every((n) => have.includes(n)) ? jobs : undefined;
    },
    { timeoutMs, what: `Jobs ${names.join(', ')} in ${namespace}` },
  );
}

const time = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Sets a Job's status as the Job controller would on success (1.35 validation: SuccessCriteriaMet first). */
export async function completeJob(batch: k8s.BatchV1Api, namespace: string, name: string): Promise<void> {
  await patchJobStatus(batch, namespace, name, (job) => {
    const now = time();
    const start = job.status?.startTime ? time(new Date(job.status.startTime)) : now;
    const c = {
      status: 'True',
      reason: 'CompletionsReached',
      message: 'Reached expected number of succeeded pods',
      lastTransitionTime: now,
      lastProbeTime: now,
    };
    return {
      startTime: start,
      completionTime: now,
      active: 0,
      ready: 0,
      succeeded: 1,
      conditions: [
        { type: 'SuccessCriteriaMet', ...c },
        { type: 'Complete', ...c },
      ],
    };
  });
}

/** Sets a Job's status as the Job controller would when it gives up (FailureTarget, then Failed). */
export async function failJob(
  batch: k8s.BatchV1Api,
  namespace: string,
  name: string,
  reason = 'BackoffLimitExceeded',
  message = 'Job has reached the specified backoff limit',
): Promise<void> {
  await patchJobStatus(batch, namespace, name, (job) => {
    const now = time();
    const c = { status: 'True', reason, message, lastTransitionTime: now, lastProbeTime: now };
    return {
      startTime: job.status?.startTime ? time(new Date(job.status.startTime)) : now,
      active: 0,
      ready: 0,
      failed: (job.spec?.backoffLimit ?? 0) + 1,
      conditions: [
        { type: 'FailureTarget', ...c },
        { type: 'Failed', ...c },
      ],
    };
  });
}

async function patchJobStatus(
  batch: k8s.BatchV1Api,
  namespace: string,
  name: string,
  make: (job: k8s.V1Job) => object,
) {
  await waitFor(
    async () => {
      const job = await batch.readNamespacedJob({ name, namespace });
      await batch.patchNamespacedJobStatus(
        {
          name,
          namespace,
          body: { metadata: { resourceVersion: job.metadata?.resourceVersion }, status: make(job) },
        },
        MERGE,
      );
      return true;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: `status of Job ${namespace}/${name} set` },
  );
}

/**
 * Gives the Job's Pod (with `index`: that completion index's Pod of an Indexed Job) a terminated
 * container with a termination message, as the kubelet reports it:
 * phase Succeeded (reason Completed) for exit 0, Failed (reason Error) otherwise. Empty message: none.
 */
export async function terminatePod(
  core: k8s.CoreV1Api,
  namespace: string,
  job: string,
  exitCode: number,
  message: string,
  /** An Indexed Job's Pod of this completion index (a chunk of a chunked rendition), still running. */
  index?: number,
): Promise<void> {
  const selector = `batch.kubernetes.io/job-name=${job}${
    index === undefined ? '' : `,batch.kubernetes.io/job-completion-index=${index}`
  }`;
  const pod = await waitFor(
    async () =>
      (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.find(
        (p) => index === undefined || (!p.metadata?.deletionTimestamp && p.status?.phase === 'Pending'),
      ),
    { timeoutMs: 20_000, what: `a Pod of Job ${job}${index === undefined ? '' : ` index ${index}`}` },
  );
  const now = time();
  await core.patchNamespacedPodStatus(
    {
      name: pod.metadata!.name!,
      namespace,
      body: {
        status: {
          phase: exitCode === 0 ? 'Succeeded' : 'Failed',
          containerStatuses: [
            {
              name: 'transcoder',
              image: 'videoflix-transcoder:test',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode,
                  reason: exitCode === 0 ? 'Completed' : 'Error',
                  ...(message ? { message } : {}),
                  startedAt: now,
                  finishedAt: now,
                },
              },
            },
          ],
        },
      },
    },
    MERGE,
  );
}

/**
 * Plays every transcoder of one Video (the operator must be running): waits for its finalizer and
 * Jobs, writes probe.json and each rendition, completes the Jobs. Returns the Video's uid.
 */
export async function driveToReady(
  c: { custom: k8s.CustomObjectsApi; batch: k8s.BatchV1Api; storage: MinioClient; mediaBucket: string },
  namespace: string,
  name: string,
  renditions: RenditionName[],
  probe: ProbeResult,
): Promise<string> {
  const v = await waitFor(
    async () => {
      const x = await getVideo(c.custom, namespace, name);
      return x.metadata.finalizers?.includes(FINALIZER) ? x : undefined;
    },
    { what: 'finalizer' },
  );
  const uid = v.metadata.uid!;
  await waitJobs(c.batch, namespace, [`${name}-thumbnail`]);
  await writeProbe(c.storage, c.mediaBucket, uid, probe);
  await completeJob(c.batch, namespace, `${name}-thumbnail`);
  await waitJobs(
    c.batch,
    namespace,
    renditions.map((r) => `${name}-${r}`),
  );
  for (const r of renditions) {
    await writeRendition(c.storage, c.mediaBucket, uid, r);
    await completeJob(c.batch, namespace, `${name}-${r}`);
  }
  return uid;
}

/** Plays the thumbnail Job: probe.json and a thumbnail into the media bucket. */
export async function writeProbe(
  client: MinioClient,
  bucket: string,
  uid: string,
  probe: ProbeResult,
): Promise<void> {
  await client.putObject(bucket, keys.probe(uid), Buffer.from(JSON.stringify(probe)), undefined, {
    'Content-Type': 'application/json',
  });
  await client.putObject(bucket, keys.thumbnail(uid), Buffer.from('jpeg'), undefined, {
    'Content-Type': 'image/jpeg',
  });
}

const LADDER: Record<RenditionName, [number, number, number]> = {
  '480p': [854, 480, 1_498_000],
  '720p': [1280, 720, 2_996_000],
  '1080p': [1920, 1080, 5_350_000],
};

/** Plays a rendition Job: playlist, segments and rendition.json. */
export async function writeRendition(
  client: MinioClient,
  bucket: string,
  uid: string,
  name: RenditionName,
  segmentStarts = [0, 6, 12, 18, 24],
): Promise<RenditionMetadata> {
  const [width, height, bandwidth] = LADDER[name];
  const meta: RenditionMetadata = {
    name,
    width,
    height,
    bandwidth,
    averageBandwidth: Math.round(bandwidth * 0.85),
    codecs: 'avc1.640028,mp4a.40.2',
    frameRate: 25,
    segmentDuration: 6,
    segmentStarts,
  };
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:6', '#EXT-X-PLAYLIST-TYPE:VOD'];
  for (let i = 0; i < segmentStarts.length; i++) {
    lines.push('#EXTINF:6.000,', segmentName(i));
    await client.putObject(
      bucket,
      keys.segment(uid, name, segmentName(i)),
      Buffer.from(`ts ${i}`),
      undefined,
      { 'Content-Type': 'video/MP2T' },
    );
  }
  lines.push('#EXT-X-ENDLIST');
  await client.putObject(bucket, keys.playlist(uid, name), Buffer.from(lines.join('\n')), undefined, {
    'Content-Type': 'application/vnd.apple.mpegurl',
  });
  await client.putObject(
    bucket,
    keys.renditionMeta(uid, name),
    Buffer.from(JSON.stringify(meta)),
    undefined,
    { 'Content-Type': 'application/json' },
  );
  return meta;
}

export async function eventsFor(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
): Promise<k8s.CoreV1Event[]> {
  return (
    await core.listNamespacedEvent({
      namespace,
      fieldSelector: `involvedObject.name=${name},involvedObject.kind=Video`,
    })
  ).items;
}

/** A durable queue bound to the status exchange, collecting messages (reconnects after an outage). */
export class StatusConsumer {
  readonly messages: Array<{ routingKey: string; body: VideoStatusMessage; redelivered: boolean }> = [];
  private conn?: amqp.ChannelModel;
  readonly queue = uniqueName('op-status');

  constructor(
    private readonly exchange: string,
    private readonly bindingKey = 'video.#',
  ) {}

  async connect(): Promise<void> {
    const conn = await amqp.connect(process.env.AMQP_URL!);
    conn.on('error', () => undefined);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertExchange(this.exchange, 'topic', { durable: true });
    await ch.assertQueue(this.queue, { durable: true, autoDelete: false });
    await ch.bindQueue(this.queue, this.exchange, this.bindingKey);
    await ch.consume(this.queue, (m) => {
      if (!m) return;
      this.messages.push({
        routingKey: m.fields.routingKey,
        body: JSON.parse(m.content.toString()) as VideoStatusMessage,
        redelivered: m.fields.redelivered,
      });
      ch.ack(m);
    });
    this.conn = conn;
  }

  /** Phases seen for one Video, in order, duplicates removed (at least once allows them). */
  phases(uid: string): string[] {
    const out: string[] = [];
    for (const m of this.messages.filter((x) => x.body.uid === uid)) {
      const p = m.body.deleted ? 'deleted' : m.body.phase;
      if (out[out.length - 1] !== p) out.push(p);
    }
    return out;
  }

  async close(deleteQueue = true): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    if (deleteQueue) {
      const ch = await conn.createChannel().catch(() => undefined);
      await ch?.deleteQueue(this.queue).catch(() => undefined);
    }
    await conn.close().catch(() => undefined);
  }

  /** Drops the connection without deleting the queue (the broker is going away). */
  forget(): void {
    const conn = this.conn;
    this.conn = undefined;
    void conn?.close().catch(() => undefined);
  }
}

export async function ensureTranscoderServiceAccount(core: k8s.CoreV1Api, namespace: string): Promise<void> {
  try {
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: 'videoflix-transcoder' }, automountServiceAccountToken: false },
    });
  } catch (err) {
    if (apiStatus(err) !== 409) throw err;
  }
}

/**
 * Test clean-up: drops the finalizers of every Video left in the namespace (no operator runs any
 * more to remove them), then deletes the namespace.
 */
export async function dropNamespace(
  kc: k8s.KubeConfig,
  custom: k8s.CustomObjectsApi,
  namespace: string,
): Promise<void> {
  const list = (await custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
  })) as {
    items: Array<{ metadata: { name: string } }>;
  };
  for (const v of list.items)
    await custom
      .patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name: v.metadata.name,
          body: { metadata: { finalizers: null } },
        },
        MERGE,
      )
      .catch(() => undefined);
  await deleteNamespace(kc, namespace);
}
