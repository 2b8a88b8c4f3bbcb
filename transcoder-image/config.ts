/**
 * The command line and environment of one transcoder run, as common/video/transcoder-contract.ts
 * defines them. Everything wrong here is a usage error (exit 64): the operator built a bad Job.
 */
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError, storageSchema, z } from '../common/config/index.js';
import {
  DEFAULT_CHUNKING,
  DEFAULT_PROGRESS_EXCHANGE,
  DEFAULT_TERMINATION_MESSAGE_PATH,
  RENDITIONS,
  TRANSCODER_ENV,
  TRANSCODER_TASKS,
  LadderConfigError,
  resolveLadder,
  type ChunkingSettings,
  type LadderSettings,
  type RenditionName,
} from '../common/video/index.js';
import { usageError } from './errors.js';
import type { StorageSettings } from './storage.js';

export type TaskArgs =
  { task: 'thumbnail' } | { task: 'rendition' | 'chunk' | 'stitch'; rendition: RenditionName };

export const USAGE = `usage: main.js ${TRANSCODER_TASKS.thumbnail} | ${TRANSCODER_TASKS.rendition}|${TRANSCODER_TASKS.chunk}|${TRANSCODER_TASKS.stitch} <${RENDITIONS.join('|')}>`;

const RENDITION_TASKS: readonly string[] = [
  TRANSCODER_TASKS.rendition,
  TRANSCODER_TASKS.chunk,
  TRANSCODER_TASKS.stitch,
];

/** argv without node and the script: ["rendition", "720p"] or ["thumbnail"]. */
export function parseArgs(argv: readonly string[]): TaskArgs {
  const [task, ...rest] = argv;
  if (task === TRANSCODER_TASKS.thumbnail) {
    if (rest.length > 0) throw usageError(`thumbnail takes no arguments; ${USAGE}`);
    return { task: 'thumbnail' };
  }
  if (task !== undefined && RENDITION_TASKS.includes(task)) {
    const [name, ...extra] = rest;
    if (name === undefined) throw usageError(`${task} needs a name; ${USAGE}`);
    if (!(RENDITIONS as readonly string[]).includes(name)) {
      throw usageError(`unknown rendition "${name}"; ${USAGE}`);
    }
    if (extra.length > 0) throw usageError(`unexpected arguments after ${name}; ${USAGE}`);
    return { task: task as 'rendition' | 'chunk' | 'stitch', rendition: name as RenditionName };
  }
  throw usageError(task === undefined ? USAGE : `unknown task "${task}"; ${USAGE}`);
}

/** Object keys and bucket names must not let one Video write under another's prefix. */
const mediaId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_", "-" only (a Kubernetes uid)');

const optionalNumber = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z.coerce.number().min(0).optional(),
);

const optionalCount = (min: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(min).max(100_000).optional(),
  );

const jobSchema = z.object({
  [TRANSCODER_ENV.mediaId]: mediaId,
  [TRANSCODER_ENV.sourceKey]: z.string().min(1).max(1024),
  [TRANSCODER_ENV.sourceBucket]: z.string().min(3).max(63).optional(),
  [TRANSCODER_ENV.mediaBucket]: z.string().min(3).max(63).optional(),
  [TRANSCODER_ENV.thumbnailTime]: optionalNumber,
  [TRANSCODER_ENV.terminationMessagePath]: z.string().min(1).default(DEFAULT_TERMINATION_MESSAGE_PATH),
  [TRANSCODER_ENV.ladderJson]: z.string().optional(),
  [TRANSCODER_ENV.segmentSeconds]: z.string().optional(),
  [TRANSCODER_ENV.skipTallerThanSource]: z.enum(['0', '1', 'true', 'false']).optional(),
  // Progress is best effort: a wrong value falls back to its default, it never fails the encode.
  [TRANSCODER_ENV.progressAmqpUrl]: z.string().optional().catch(undefined),
  [TRANSCODER_ENV.progressExchange]: z
    .string()
    .min(1)
    .max(255)
    .default(DEFAULT_PROGRESS_EXCHANGE)
    .catch(DEFAULT_PROGRESS_EXCHANGE),
  [TRANSCODER_ENV.progressInterval]: z.coerce.number().min(0.1).max(3600).default(3).catch(3),
  [TRANSCODER_ENV.progressStepPercent]: z.coerce.number().min(0.1).max(100).default(5).catch(5),
  [TRANSCODER_ENV.chunkThresholdSeconds]: optionalNumber,
  [TRANSCODER_ENV.chunkSeconds]: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().positive().max(3600).default(DEFAULT_CHUNKING.chunkSeconds),
  ),
  [TRANSCODER_ENV.chunkCount]: optionalCount(1),
  [TRANSCODER_ENV.chunkIndex]: optionalCount(0),
  /** Scratch space for the encoded files (an emptyDir in the Pod); defaults to the OS temp dir. */
  WORK_DIR: z.string().min(1).optional(),
  /** Encoder threads; unset or 0: from the container's CPU limit, else libx264's default. */
  FFMPEG_THREADS: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce.number().int().min(0).max(64).optional(),
  ),
});

export interface JobConfig {
  videoId: string;
  sourceBucket: string;
  sourceKey: string;
  mediaBucket: string;
  thumbnailTime?: number;
  terminationMessagePath: string;
  workDir: string;
  /** Explicit encoder threads (FFMPEG_THREADS), if set and not 0. */
  ffmpegThreads?: number;
  ladder: LadderSettings;
  /** SKIP_TALLER_THAN_SOURCE: a rendition taller than the source is not encoded (exit 0, nothing written). */
  skipTallerThanSource: boolean;
  storage: StorageSettings;
  /**
   * Chunked transcoding (common/video/chunks.ts), when CHUNK_THRESHOLD_SECONDS is set: the probe also
   * encodes the audio pieces and `rendition` defers for sources longer than the threshold.
   */
  chunking?: ChunkingSettings;
  /** CHUNK_SECONDS (default 30; rounded up to a multiple of the segment length where used). */
  chunkSeconds: number;
  /** CHUNK_COUNT and JOB_COMPLETION_INDEX: which part a `chunk`/`stitch` run is. */
  chunkCount?: number;
  chunkIndex?: number;
  /** Where progress reports go (PROGRESS_AMQP_URL set), and their pace; undefined: none are sent. */
  progress?: ProgressSettings;
}

export interface ProgressSettings {
  url: string;
  exchange: string;
  intervalMs: number;
  stepPercent: number;
}

/** The termination-message path, readable even when the rest of the configuration is not. */
export function terminationMessagePath(env: Record<string, string | undefined>): string {
  return env[TRANSCODER_ENV.terminationMessagePath] || DEFAULT_TERMINATION_MESSAGE_PATH;
}

export function loadJobConfig(env: Record<string, string | undefined>): JobConfig {
  try {
    const job = loadConfig(jobSchema, env);
    const storage = loadConfig(storageSchema, env);
    const ladder = resolveLadder({
      ladderJson: job[TRANSCODER_ENV.ladderJson],
      segmentSeconds: job[TRANSCODER_ENV.segmentSeconds],
    });
    return {
      videoId: job[TRANSCODER_ENV.mediaId],
      sourceKey: job[TRANSCODER_ENV.sourceKey],
      // The contract's variables win; the shared storage settings are the fallback.
      sourceBucket: job[TRANSCODER_ENV.sourceBucket] ?? storage.S3_SOURCE_BUCKET,
      mediaBucket: job[TRANSCODER_ENV.mediaBucket] ?? storage.S3_MEDIA_BUCKET,
      thumbnailTime: job[TRANSCODER_ENV.thumbnailTime],
      terminationMessagePath: job[TRANSCODER_ENV.terminationMessagePath],
      workDir: path.resolve(job.WORK_DIR ?? os.tmpdir()), // absolute: ffmpeg's inputs are checked (ffmpeg/args.ts)
      ffmpegThreads: job.FFMPEG_THREADS ? job.FFMPEG_THREADS : undefined,
      ladder,
      skipTallerThanSource: ['1', 'true'].includes(job[TRANSCODER_ENV.skipTallerThanSource] ?? ''),
      ...(job[TRANSCODER_ENV.chunkThresholdSeconds] !== undefined
        ? {
            chunking: {
              thresholdSeconds: job[TRANSCODER_ENV.chunkThresholdSeconds]!,
              chunkSeconds: job[TRANSCODER_ENV.chunkSeconds],
            },
          }
        : {}),
      chunkSeconds: job[TRANSCODER_ENV.chunkSeconds],
      chunkCount: job[TRANSCODER_ENV.chunkCount],
      chunkIndex: job[TRANSCODER_ENV.chunkIndex],
      ...(job[TRANSCODER_ENV.progressAmqpUrl]?.trim()
        ? {
            progress: {
              url: job[TRANSCODER_ENV.progressAmqpUrl]!.trim(),
              exchange: job[TRANSCODER_ENV.progressExchange],
              intervalMs: Math.round(job[TRANSCODER_ENV.progressInterval] * 1000),
              stepPercent: job[TRANSCODER_ENV.progressStepPercent],
            },
          }
        : {}),
      storage: {
        S3_ENDPOINT: storage.S3_ENDPOINT,
        S3_REGION: storage.S3_REGION,
        S3_ACCESS_KEY: storage.S3_ACCESS_KEY,
        S3_SECRET_KEY: storage.S3_SECRET_KEY,
      },
    };
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(`invalid configuration: ${err.issues.join('; ')}`);
    if (err instanceof LadderConfigError) throw usageError(`invalid ladder: ${err.message}`);
    throw err;
  }
}
