/** What a task gets: its configuration and the adapters (storage, media), plus logging and abort. */
import type { Logger } from '../../common/logging/index.js';
import type { JobConfig } from '../config.js';
import {
  MediaError,
  pickVideoStream,
  type MediaTool,
  type ProbeInfo,
  type ProbedStream,
} from '../ffmpeg/index.js';
import { badInput, storageError, TranscoderError } from '../errors.js';
import type { ProgressReporter } from '../progress.js';
import type { Storage } from '../storage.js';

export interface TaskContext {
  job: JobConfig;
  storage: Storage;
  media: MediaTool;
  log: Logger;
  signal: AbortSignal;
  /** Progress reports of a rendition's encode (best effort), when PROGRESS_AMQP_URL is set. */
  progress?: Pick<ProgressReporter, 'report'>;
}

/** A media failure on the source → the contract's kinds: unreadable input, storage, or internal. */
export function sourceFailure(err: unknown, doing: string): unknown {
  if (!(err instanceof MediaError)) return err;
  switch (err.failure) {
    case 'invalidInput':
      return badInput(`source unreadable: ${err.message}`, err);
    case 'io':
      return storageError(`${doing}: ${err.message}`, err);
    case 'aborted':
      return new TranscoderError('internal', `interrupted while ${doing}`, { cause: err });
    default:
      return new TranscoderError('internal', `${doing} failed: ${err.message}`, { cause: err });
  }
}

/** The value of a settled promise, or its rejection thrown. */
function settledValue<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/**
 * Checks the media bucket (when given) and the source, presigns the source and probes it; rejects
 * sources without a usable video stream. After the bucket check (one round trip), the requests are
 * independent and each Job's start is on the critical path to Ready, so they run together; a failure is reported as if they had run one
 * after the other (bucket, then source, then probe), e.g. a missing source says "not found"
 * rather than what ffprobe made of the 404.
 */
export async function openSource(
  ctx: TaskContext,
  opts: { checkBucket?: string } = {},
): Promise<{ url: string; size: number; info: ProbeInfo; video: ProbedStream }> {
  const { job, storage, media, signal } = ctx;
  // the bucket check first and alone: it is the Job's first contact with the S3 server, and it waits out
  // a connection refused while the Pod's network is being set up (Storage.checkBucket)
  if (opts.checkBucket !== undefined) await storage.checkBucket(opts.checkBucket);
  const [stat, probed] = await Promise.allSettled([
    storage.statSource(job.sourceBucket, job.sourceKey),
    storage.presignedGetUrl(job.sourceBucket, job.sourceKey).then(async (url) => {
      try {
        return { url, info: await media.probe(url, signal) };
      } catch (err) {
        throw sourceFailure(err, 'probing the source');
      }
    }),
  ]);
  const { size } = settledValue(stat);
  const { url, info } = settledValue(probed);
  const video = pickVideoStream(info);
  if (!video) {
    const found = info.streams.map((s) => s.codecName ?? s.codecType).join(', ') || 'none';
    throw badInput(`no video stream in source (format ${info.formatName ?? 'unknown'}, streams: ${found})`);
  }
  ctx.log.info(
    {
      size,
      format: info.formatName,
      duration: info.duration,
      video: { codec: video.codecName, width: video.width, height: video.height, fps: video.frameRate },
    },
    'source probed',
  );
  return { url, size, info, video };
}
