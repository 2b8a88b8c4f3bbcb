/** Operator configuration from the environment (fail fast on anything wrong). */
import { hostname } from 'node:os';
import { amqpSchema, env, loggingSchema, storageSchema, z } from '../common/config/index.js';
import {
  DEFAULT_CHUNKING,
  DEFAULT_PROGRESS_EXCHANGE,
  LadderConfigError,
  resolveLadder,
  type LadderSettings,
} from '../common/video/index.js';
import { DEFAULT_WORKERS } from './runtime/queue.js';
import {
  DEFAULT_BACKOFF_LIMIT_PER_INDEX,
  DEFAULT_RESOURCES,
  type JobSettings,
  type Resources,
  type Task,
} from './video/jobs.js';

const seconds = (def: number) => z.coerce.number().positive().default(def);
const optionalInt = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z.coerce.number().int().min(0).optional(),
);

export const operatorSchema = storageSchema
  .extend(amqpSchema.shape)
  .extend(loggingSchema.shape)
  .extend({
    /** Namespace to watch; empty = all namespaces. */
    WATCH_NAMESPACE: z.string().default(''),
    /** Namespace of the operator's own Pod (downward API): where the Lease lives. */
    POD_NAMESPACE: env.str('default'),
    /** Identity in the Lease (downward API metadata.name). */
    POD_NAME: env.str(hostname()),
    LEADER_ELECTION: env.bool(true),
    LEASE_NAME: env.str('videoflix-operator'),
    LEASE_DURATION_SECONDS: seconds(15),
    LEASE_RENEW_DEADLINE_SECONDS: seconds(10),
    LEASE_RETRY_PERIOD_SECONDS: seconds(2),
    /** /metrics, /healthz, /readyz. */
    HTTP_PORT: env.port(8080),
    HTTP_HOST: env.str('0.0.0.0'),
    /** Concurrent reconciles: they wait on API round trips, so more than the cores pays off. */
    WORKERS: z.coerce.number().int().min(1).max(64).default(DEFAULT_WORKERS),
    RESYNC_SECONDS: seconds(300),
    /** Media auditor: a sweep over the processed Videos' master playlists at most this often; 0 = off. */
    MEDIA_CHECK_INTERVAL_SECONDS: z.coerce.number().min(0).default(300),
    /** Media auditor: HEAD requests per second (the pace of a sweep). */
    MEDIA_CHECKS_PER_SECOND: z.coerce.number().positive().default(10),
    WATCHDOG_SECONDS: seconds(300),
    RELIST_SECONDS: seconds(900),
    SHUTDOWN_TIMEOUT_SECONDS: seconds(20),
    TRANSCODER_IMAGE: env.str('videoflix-transcoder:dev'),
    TRANSCODER_IMAGE_PULL_POLICY: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    TRANSCODER_SERVICE_ACCOUNT: env.str('videoflix-transcoder'),
    /** Secret with the transcoder's S3 credentials, and the keys inside it. */
    TRANSCODER_STORAGE_SECRET: env.str('videoflix-storage'),
    TRANSCODER_ACCESS_KEY_KEY: env.str('S3_ACCESS_KEY'),
    TRANSCODER_SECRET_KEY_KEY: env.str('S3_SECRET_KEY'),
    /** S3 endpoint as the transcoder Pods reach it; defaults to S3_ENDPOINT. */
    TRANSCODER_S3_ENDPOINT: z.string().url().optional(),
    TRANSCODER_RUN_AS_USER: z.coerce.number().int().min(1).default(10001),
    TRANSCODER_RUN_AS_GROUP: z.coerce.number().int().min(1).default(10001),
    TRANSCODER_TMP_SIZE_LIMIT: env.str('4Gi'),
    /** JSON object overriding requests/limits per task: {"1080p":{"requests":{...},"limits":{...}}}. */
    TRANSCODER_RESOURCES_JSON: z.string().default(''),
    JOB_BACKOFF_LIMIT: z.coerce.number().int().min(0).max(10).default(2),
    /** Automatic retries of a Video's work after a transient failure (a new Job each); 0 = none. */
    VIDEO_RETRY_LIMIT: z.coerce.number().int().min(0).max(20).default(3),
    /** Delay before the first automatic retry, doubled for each further one (at most 10 minutes). */
    VIDEO_RETRY_DELAY_SECONDS: z.coerce.number().int().min(0).default(30),
    JOB_DEADLINE_THUMBNAIL_SECONDS: z.coerce.number().int().min(1).default(600),
    JOB_DEADLINE_RENDITION_SECONDS: z.coerce.number().int().min(1).default(3600),
    JOB_TTL_SECONDS_AFTER_FINISHED: optionalInt,
    SEGMENT_SECONDS: optionalInt,
    /** Ladder override (same shape as DEFAULT_LADDER), passed to the transcoder too. */
    LADDER_JSON: z.string().default(''),
    /** Chunked transcoding (issue 24): sources longer than this are encoded in chunks; 0 = never. */
    CHUNK_THRESHOLD_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(86400)
      .default(DEFAULT_CHUNKING.thresholdSeconds),
    /** Chunk length (rounded up to a multiple of the segment length). */
    CHUNK_SECONDS: z.coerce.number().int().min(1).max(3600).default(DEFAULT_CHUNKING.chunkSeconds),
    /** Chunk Pods of one rendition at a time; 0 = all (parallelism = completions, the scheduler queues). */
    CHUNK_PARALLELISM: z.coerce.number().int().min(0).max(1000).default(0),
    /** Retries of one failed chunk alone (the Indexed Job's backoffLimitPerIndex). */
    CHUNK_BACKOFF_LIMIT_PER_INDEX: z.coerce
      .number()
      .int()
      .min(0)
      .max(10)
      .default(DEFAULT_BACKOFF_LIMIT_PER_INDEX),
    ALIGNMENT_TOLERANCE_SECONDS: z.coerce.number().min(0).default(0.1),
    DELETE_SOURCE_ON_DELETE: env.bool(false),
    /** app.kubernetes.io/instance on the Jobs (the Helm release name). */
    INSTANCE: env.str('videoflix'),
    /** Longest wait for the API server on one call; a reconcile that hits it fails and is retried with backoff. */
    KUBE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    PUBLISH_BACKOFF_MAX_MS: z.coerce.number().int().min(10).default(30_000),
    /** Publish every Video's current status when this replica becomes leader. */
    PUBLISH_ON_LEAD: env.bool(true),
    /** The transcoders' progress reports (topic exchange, declared by the operator). */
    PROGRESS_EXCHANGE: env.str(DEFAULT_PROGRESS_EXCHANGE),
    /** Least seconds between two progress writes of one Video's status; 0 = progress is not recorded. */
    PROGRESS_WRITE_INTERVAL: z.coerce.number().min(0).max(3600).default(5),
    /** A transcoder reports at most every this many seconds (or after 5 % more), passed to the Jobs. */
    PROGRESS_INTERVAL: z.coerce.number().min(0.1).max(3600).default(3),
    /** Secret (in each Video's namespace) with the transcoders' broker URL; empty = they send no progress. */
    TRANSCODER_PROGRESS_SECRET: z.string().default(''),
    TRANSCODER_PROGRESS_URL_KEY: env.str('url'),
  })
  .superRefine((c, ctx) => {
    // the transcoder resolves the same strings (common/video/ladder.ts): a bad override stops the
    // operator at start, not every Job at run time
    try {
      ladderFrom(c.LADDER_JSON, c.SEGMENT_SECONDS);
    } catch (err) {
      if (!(err instanceof LadderConfigError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['LADDER_JSON'], message: err.message });
    }
  });

export type OperatorEnv = z.infer<typeof operatorSchema>;

/** The ladder the Jobs will encode with: the transcoder's own resolution of the same settings. */
export function ladderFrom(json: string, segmentSeconds?: number): LadderSettings {
  return resolveLadder({
    ladderJson: json,
    ...(segmentSeconds !== undefined ? { segmentSeconds: String(segmentSeconds) } : {}),
  });
}

export function jobSettingsFrom(c: OperatorEnv): JobSettings {
  const overrides = c.TRANSCODER_RESOURCES_JSON
    ? (JSON.parse(c.TRANSCODER_RESOURCES_JSON) as Partial<Record<Task, Resources>>)
    : {};
  return {
    image: c.TRANSCODER_IMAGE,
    imagePullPolicy: c.TRANSCODER_IMAGE_PULL_POLICY,
    serviceAccountName: c.TRANSCODER_SERVICE_ACCOUNT,
    storageSecretName: c.TRANSCODER_STORAGE_SECRET,
    accessKeyKey: c.TRANSCODER_ACCESS_KEY_KEY,
    secretKeyKey: c.TRANSCODER_SECRET_KEY_KEY,
    s3Endpoint: c.TRANSCODER_S3_ENDPOINT ?? c.S3_ENDPOINT,
    s3Region: c.S3_REGION,
    mediaBucket: c.S3_MEDIA_BUCKET,
    backoffLimit: c.JOB_BACKOFF_LIMIT,
    activeDeadlineSeconds: {
      thumbnail: c.JOB_DEADLINE_THUMBNAIL_SECONDS,
      rendition: c.JOB_DEADLINE_RENDITION_SECONDS,
    },
    ...(c.JOB_TTL_SECONDS_AFTER_FINISHED !== undefined
      ? { ttlSecondsAfterFinished: c.JOB_TTL_SECONDS_AFTER_FINISHED }
      : {}),
    runAsUser: c.TRANSCODER_RUN_AS_USER,
    runAsGroup: c.TRANSCODER_RUN_AS_GROUP,
    ...(c.SEGMENT_SECONDS !== undefined ? { segmentSeconds: c.SEGMENT_SECONDS } : {}),
    ...(c.LADDER_JSON ? { ladderJson: c.LADDER_JSON } : {}),
    resources: { ...DEFAULT_RESOURCES, ...overrides },
    instance: c.INSTANCE,
    tmpSizeLimit: c.TRANSCODER_TMP_SIZE_LIMIT,
    chunking: {
      thresholdSeconds: c.CHUNK_THRESHOLD_SECONDS,
      chunkSeconds: c.CHUNK_SECONDS,
      parallelism: c.CHUNK_PARALLELISM,
      backoffLimitPerIndex: c.CHUNK_BACKOFF_LIMIT_PER_INDEX,
    },
    ...(c.TRANSCODER_PROGRESS_SECRET
      ? {
          progress: {
            secretName: c.TRANSCODER_PROGRESS_SECRET,
            urlKey: c.TRANSCODER_PROGRESS_URL_KEY,
            exchange: c.PROGRESS_EXCHANGE,
            intervalSeconds: c.PROGRESS_INTERVAL,
          },
        }
      : {}),
  };
}
