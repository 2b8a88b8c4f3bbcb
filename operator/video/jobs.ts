/**
 * Pure builders of the Jobs the operator owns: one thumbnail/probe Job and one Job per rendition.
 * Names are deterministic (`<video>-<task>`, hashed when longer than 63 characters) so that a second
 * reconcile, a restart or a second replica can never create a duplicate: the API server refuses it.
 */
import { createHash } from 'node:crypto';
import type { V1Job, V1EnvVar, V1ResourceRequirements, V1OwnerReference } from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  KIND,
  LABELS,
  TRANSCODER_ENV,
  TRANSCODER_COMMAND,
  TRANSCODER_TASKS,
  transcoderArgs,
  chunkArgs,
  EXIT_CODES,
  DEFAULT_TERMINATION_MESSAGE_PATH,
  type ChunkPlan,
  type ChunkingSettings,
  type RenditionName,
  type Video,
} from '../../common/video/index.js';

/** The owning Video's uid, on each Job (the ownerReference carries it too). */
export const VIDEO_UID_ANNOTATION = `${GROUP}/video-uid`;
export const MANAGED_BY = 'videoflix-operator';
export const APP_NAME = 'videoflix';
export const CONTAINER_NAME = 'transcoder';
export const THUMBNAIL_TASK = TRANSCODER_TASKS.thumbnail;
export type Task = RenditionName | typeof THUMBNAIL_TASK;

/** Kubernetes name and label-value limit. */
export const MAX_NAME = 63;

export interface Resources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export interface JobSettings {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  serviceAccountName: string;
  /** Secret holding the S3 credentials of the transcoder. */
  storageSecretName: string;
  accessKeyKey: string;
  secretKeyKey: string;
  /** S3 endpoint as seen from the transcoder Pods (may differ from the operator's). */
  s3Endpoint: string;
  s3Region: string;
  mediaBucket: string;
  backoffLimit: number;
  activeDeadlineSeconds: { thumbnail: number; rendition: number };
  ttlSecondsAfterFinished?: number;
  runAsUser: number;
  runAsGroup: number;
  segmentSeconds?: number;
  ladderJson?: string;
  resources: Record<Task, Resources>;
  /** `app.kubernetes.io/instance` value (the Helm release). */
  instance: string;
  /**
   * Progress reports of rendition Jobs: the Secret (in the Video's namespace) whose `urlKey` holds the
   * broker URL of the transcoder's publish-only user, the exchange and the reports' pace. Absent: none.
   */
  progress?: { secretName: string; urlKey: string; exchange: string; intervalSeconds: number };
  tmpSizeLimit: string;
  /** Chunked transcoding of long sources (issue 24); absent = never (unless a Video's spec.chunking says so). */
  chunking?: ChunkingDefaults;
}

/** The operator's chunking settings (CHUNK_*); a Video's spec.chunking overrides the first three. */
export interface ChunkingDefaults extends ChunkingSettings {
  /** Chunk Pods of one rendition at a time; 0 = all of them (the scheduler queues). */
  parallelism: number;
  /** Retries of one failed chunk alone (Indexed Job's backoffLimitPerIndex). */
  backoffLimitPerIndex: number;
}

export const DEFAULT_BACKOFF_LIMIT_PER_INDEX = 2;

/** A Video's chunking: its spec.chunking over the operator's defaults (threshold 0 = never). */
export function effectiveChunking(video: Video, settings: JobSettings): ChunkingDefaults {
  const base = settings.chunking;
  const spec = video.spec.chunking ?? {};
  return {
    thresholdSeconds: spec.thresholdSeconds ?? base?.thresholdSeconds ?? 0,
    chunkSeconds: spec.chunkSeconds ?? base?.chunkSeconds ?? 30,
    parallelism: spec.parallelism ?? base?.parallelism ?? 0,
    backoffLimitPerIndex: base?.backoffLimitPerIndex ?? DEFAULT_BACKOFF_LIMIT_PER_INDEX,
  };
}

export const DEFAULT_RESOURCES: Record<Task, Resources> = {
  thumbnail: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  '480p': { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  '720p': { requests: { cpu: '1', memory: '512Mi' }, limits: { cpu: '2', memory: '1536Mi' } },
  '1080p': { requests: { cpu: '1', memory: '768Mi' }, limits: { cpu: '2', memory: '2Gi' } },
};

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * `<base>-<suffix>` when that fits in 63 characters, else `<truncated base>-<hash of base>-<suffix>`.
 * The hash keeps two long names with the same prefix apart; the result is a valid DNS label tail.
 */
export function childName(base: string, suffix: string): string {
  const full = `${base}-${suffix}`;
  if (full.length <= MAX_NAME) return full;
  const hash = shortHash(base);
  const room = MAX_NAME - suffix.length - hash.length - 2;
  const head = base.slice(0, Math.max(room, 0)).replace(/[^a-z0-9]+$/, '');
  return head ? `${head}-${hash}-${suffix}` : `${hash}-${suffix}`;
}

/** A label value (≤ 63 characters) standing for a Video name. */
export function labelValue(name: string): string {
  if (name.length <= MAX_NAME) return name;
  const hash = shortHash(name);
  const head = name.slice(0, MAX_NAME - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '');
  return `${head}-${hash}`;
}

export const jobName = (video: Video, task: Task) => childName(video.metadata.name ?? '', task);
/** A chunked rendition's Indexed Job: `<video>-<res>-chunks`. */
export const chunksJobName = (video: Video, res: RenditionName) =>
  childName(video.metadata.name ?? '', `${res}-chunks`);
/** A chunked rendition's stitch Job: `<video>-<res>-stitch`. */
export const stitchJobName = (video: Video, res: RenditionName) =>
  childName(video.metadata.name ?? '', `${res}-stitch`);

export function ownerReference(video: Video): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: video.metadata.name ?? '',
    uid: video.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function jobLabels(video: Video, task: Task, instance: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.name]: APP_NAME,
    [LABELS.instance]: instance,
    [LABELS.component]: 'transcoder',
    [LABELS.partOf]: APP_NAME,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.video]: labelValue(video.metadata.name ?? ''),
  };
  if (task !== THUMBNAIL_TASK) labels[LABELS.rendition] = task;
  return labels;
}

/** Label selector for the Jobs informer: only Jobs this operator made. */
export const OWNED_JOBS_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

/** Options of one Job beyond the Video and the settings. */
export interface JobOptions {
  /**
   * A rendition Job created before the source was probed, for a rung that is not the lowest
   * requested one: the transcoder exits 0 without output when its rung is taller than the source.
   */
  skipTallerThanSource?: boolean;
  /** Chunk and stitch Jobs: the rendition's chunk plan. */
  plan?: ChunkPlan;
}

/** A single-Pod Job (thumbnail, rendition), a chunked rendition's Indexed Job, or its stitch Job. */
type JobKind = 'single' | 'chunk' | 'stitch';

/** Seconds a transcoder Pod gets after SIGTERM: it stops ffmpeg and exits within a second. */
export const TERMINATION_GRACE_SECONDS = 5;

function env(video: Video, task: Task, settings: JobSettings, opts: JobOptions, kind: JobKind): V1EnvVar[] {
  const id = video.metadata.uid ?? '';
  const vars: V1EnvVar[] = [
    { name: TRANSCODER_ENV.mediaId, value: id },
    { name: TRANSCODER_ENV.sourceBucket, value: video.spec.source.bucket },
    { name: TRANSCODER_ENV.sourceKey, value: video.spec.source.key },
    { name: TRANSCODER_ENV.mediaBucket, value: settings.mediaBucket },
    { name: TRANSCODER_ENV.terminationMessagePath, value: DEFAULT_TERMINATION_MESSAGE_PATH },
    { name: 'S3_ENDPOINT', value: settings.s3Endpoint },
    { name: 'S3_REGION', value: settings.s3Region },
    { name: 'S3_SOURCE_BUCKET', value: video.spec.source.bucket },
    { name: 'S3_MEDIA_BUCKET', value: settings.mediaBucket },
    {
      name: 'S3_ACCESS_KEY',
      valueFrom: { secretKeyRef: { name: settings.storageSecretName, key: settings.accessKeyKey } },
    },
    {
      name: 'S3_SECRET_KEY',
      valueFrom: { secretKeyRef: { name: settings.storageSecretName, key: settings.secretKeyKey } },
    },
  ];
  if (video.spec.thumbnailTime !== undefined)
    vars.push({ name: TRANSCODER_ENV.thumbnailTime, value: String(video.spec.thumbnailTime) });
  if (settings.segmentSeconds !== undefined)
    vars.push({ name: TRANSCODER_ENV.segmentSeconds, value: String(settings.segmentSeconds) });
  if (settings.ladderJson) vars.push({ name: TRANSCODER_ENV.ladderJson, value: settings.ladderJson });
  if (opts.skipTallerThanSource) vars.push({ name: TRANSCODER_ENV.skipTallerThanSource, value: '1' });
  const chunking = effectiveChunking(video, settings);
  if (kind === 'single' && chunking.thresholdSeconds > 0)
    // the probe cuts the audio pieces, a speculative rendition defers to the chunks, when chunked
    vars.push(
      { name: TRANSCODER_ENV.chunkThresholdSeconds, value: String(chunking.thresholdSeconds) },
      { name: TRANSCODER_ENV.chunkSeconds, value: String(chunking.chunkSeconds) },
    );
  if (opts.plan) {
    if (kind === 'chunk')
      vars.push({ name: TRANSCODER_ENV.chunkSeconds, value: String(opts.plan.chunkSeconds) });
    vars.push({ name: TRANSCODER_ENV.chunkCount, value: String(opts.plan.count) });
  }
  const progress = settings.progress;
  // chunk Pods report nothing: one rendition's many Pods would overwrite each other's reports
  if (progress && task !== THUMBNAIL_TASK && kind === 'single')
    vars.push(
      {
        name: TRANSCODER_ENV.progressAmqpUrl,
        // optional: without the Secret the Pod still starts, and sends no progress
        valueFrom: { secretKeyRef: { name: progress.secretName, key: progress.urlKey, optional: true } },
      },
      { name: TRANSCODER_ENV.progressExchange, value: progress.exchange },
      { name: TRANSCODER_ENV.progressInterval, value: String(progress.intervalSeconds) },
    );
  return vars;
}

/** The Job for one task of one Video. Pure: same inputs, same object. */
export function buildJob(video: Video, task: Task, settings: JobSettings, opts: JobOptions = {}): V1Job {
  return build(video, task, settings, opts, 'single');
}

/**
 * A chunked rendition's Indexed Job: completion index k encodes the source from k·L to (k+1)·L
 * (the transcoder reads JOB_COMPLETION_INDEX). A failed chunk is retried alone
 * (backoffLimitPerIndex); bad input still fails the whole Job at once (podFailurePolicy FailJob).
 */
export function buildChunksJob(
  video: Video,
  res: RenditionName,
  plan: ChunkPlan,
  settings: JobSettings,
): V1Job {
  return build(video, res, settings, { plan }, 'chunk');
}

/** A chunked rendition's stitch Job: one Pod renumbers the continuity counters and writes stitch.json. */
export function buildStitchJob(
  video: Video,
  res: RenditionName,
  plan: ChunkPlan,
  settings: JobSettings,
): V1Job {
  return build(video, res, settings, { plan }, 'stitch');
}

function build(video: Video, task: Task, settings: JobSettings, opts: JobOptions, kind: JobKind): V1Job {
  const rung = task as RenditionName;
  const name =
    kind === 'chunk'
      ? chunksJobName(video, rung)
      : kind === 'stitch'
        ? stitchJobName(video, rung)
        : jobName(video, task);
  const labels = jobLabels(video, task, settings.instance);
  // the stitch Pod copies and rewrites bytes: the thumbnail's small share is enough
  const res = settings.resources[kind === 'stitch' ? THUMBNAIL_TASK : task];
  const resources: V1ResourceRequirements = { requests: { ...res.requests }, limits: { ...res.limits } };
  const chunking = effectiveChunking(video, settings);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: video.metadata.namespace,
      labels,
      annotations: { [VIDEO_UID_ANNOTATION]: video.metadata.uid ?? '' },
      ownerReferences: [ownerReference(video)],
    },
    spec: {
      ...(kind === 'chunk' && opts.plan
        ? {
            completionMode: 'Indexed',
            completions: opts.plan.count,
            parallelism: Math.min(opts.plan.count, chunking.parallelism || opts.plan.count),
            backoffLimitPerIndex: chunking.backoffLimitPerIndex,
            // a chunk failed past its own retries fails the Job at once: the rendition cannot be whole
            maxFailedIndexes: 0,
          }
        : { backoffLimit: settings.backoffLimit }),
      // the stitch Pod rewrites every segment of the rendition: the rendition's deadline
      activeDeadlineSeconds:
        task === THUMBNAIL_TASK
          ? settings.activeDeadlineSeconds.thumbnail
          : settings.activeDeadlineSeconds.rendition,
      ...(settings.ttlSecondsAfterFinished !== undefined
        ? { ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished }
        : {}),
      podFailurePolicy: {
        rules: [
          {
            // The transcoder says the input is bad, or it was called wrongly: retrying cannot help.
            action: 'FailJob',
            onExitCodes: {
              containerName: CONTAINER_NAME,
              operator: 'In',
              values: [EXIT_CODES.badInput, EXIT_CODES.usage],
            },
          },
          {
            // Evicted, preempted, node drained: not the transcoder's fault, not counted.
            action: 'Ignore',
            onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
          },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(kind === 'chunk'
            ? {
                // a rendition's chunks spread over the nodes (a preference: a one-node cluster runs them all)
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: 'kubernetes.io/hostname',
                    whenUnsatisfiable: 'ScheduleAnyway',
                    labelSelector: { matchLabels: { 'batch.kubernetes.io/job-name': name } },
                  },
                ],
              }
            : {}),
          // A cancelled rung's or a deleted Video's Pod goes at once (the default is 30 s).
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          serviceAccountName: settings.serviceAccountName,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: settings.runAsUser,
            runAsGroup: settings.runAsGroup,
            fsGroup: settings.runAsGroup,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: CONTAINER_NAME,
              image: settings.image,
              imagePullPolicy: settings.imagePullPolicy,
              command: [...TRANSCODER_COMMAND],
              args: kind === 'single' ? transcoderArgs(task) : chunkArgs(kind, rung),
              env: env(video, task, settings, opts, kind),
              resources,
              // The file is the message: a failure's one line, or a finished rendition's
              // rendition.json (pod-results.ts). The log tail only stands in for an empty file
              // after a failure (an OOM kill leaves none), never on success.
              terminationMessagePath: DEFAULT_TERMINATION_MESSAGE_PATH,
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: settings.tmpSizeLimit } }],
        },
      },
    },
  };
}
