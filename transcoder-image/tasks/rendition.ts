/**
 * `rendition <name>`: encode one HLS VOD rendition of the source and upload
 * <id>/<name>/segment_NNN.ts, index.m3u8 and, last, rendition.json.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  assertMediaFile,
  keys,
  planChunks,
  renditionMetadataSchema,
  rung,
  type LadderRung,
  type LadderSettings,
  type RenditionMetadata,
  type RenditionName,
} from '../../common/video/index.js';
import { encoderThreads } from '../cpu.js';
import { TranscoderError, usageError } from '../errors.js';
import {
  geometryOf,
  pickAudioStream,
  scaleToFit,
  type EncodeHlsOptions,
  type ProbeInfo,
  type ProbedStream,
} from '../ffmpeg/index.js';
import { rateControl } from '../ladder.js';
import { measureSegment, parseMediaPlaylist, renditionMetadata } from '../metadata.js';
import { progressHook } from '../progress.js';
import { SegmentShipper } from '../segments.js';
import { openSource, sourceFailure, type TaskContext } from './context.js';
import { probeResult } from './thumbnail.js';

/** Used for the GOP length when the source does not tell its frame rate. */
export const FALLBACK_FPS = 30;
export const RENDITION_FILE = 'rendition.json';
export const PLAYLIST = 'index.m3u8';

export interface RenditionResult {
  /** Undefined when skipped. */
  metadata?: RenditionMetadata;
  keys: string[];
  encodeSeconds?: number;
  /** Why nothing was encoded (SKIP_TALLER_THAN_SOURCE and a rung taller than the source). */
  skipped?: string;
  /** CHUNK_THRESHOLD_SECONDS and a longer source: the chunk Jobs encode it; nothing written. */
  deferred?: 'chunked';
}

export async function runRendition(ctx: TaskContext, name: RenditionName): Promise<RenditionResult> {
  const { job, storage, media, log } = ctx;
  const target = ladderRung(name, job.ladder);
  const opened = await openSource(ctx, { checkBucket: job.mediaBucket });
  // Started before the operator knew the source's size: the operator's rule (no rung taller than
  // the source; the lowest requested rung always runs, so it never gets the flag) decides here too.
  const source = probeResult(opened.info, opened.video);
  if (job.skipTallerThanSource && target.height > source.height) {
    const skipped = `${name} (${target.height}p) is taller than the ${source.height}p source`;
    log.info({ sourceHeight: source.height, rungHeight: target.height }, `skipped: ${skipped}`);
    return { keys: [], skipped };
  }
  // Started before the probe: a source above the chunking threshold is encoded in chunks instead.
  if (job.chunking && planChunks(source.durationSeconds, job.chunking, job.ladder.segmentSeconds)) {
    log.info({ duration: source.durationSeconds, chunking: job.chunking }, 'deferred: encoded in chunks');
    return { keys: [], deferred: 'chunked' };
  }

  const dir = await mkdtemp(path.join(job.workDir, `${name}-${job.videoId}-`));
  const prefix = keys.renditionPrefix(job.videoId, name);
  try {
    const { measures, encodeSeconds } = await encodeSegments(ctx, name, opened, {
      dir,
      measure: (file) => measureSegment(file, media),
      durationSeconds: source.durationSeconds,
    });
    let metadata: RenditionMetadata;
    try {
      const playlist = parseMediaPlaylist(await readFile(path.join(dir, PLAYLIST), 'utf8'));
      metadata = assertMediaFile(
        renditionMetadataSchema,
        RENDITION_FILE,
        renditionMetadata(playlist, measures, { name, segmentSeconds: job.ladder.segmentSeconds }),
      );
    } catch (err) {
      throw new TranscoderError('internal', `measuring ${name} output: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await writeFile(path.join(dir, RENDITION_FILE), `${JSON.stringify(metadata, null, 2)}\n`);

    // What is left in the directory: the playlist, then rendition.json (its presence means complete).
    const last = await storage.uploadDirectory(dir, job.mediaBucket, prefix, {
      last: [PLAYLIST, RENDITION_FILE],
    });
    const uploaded = [...[...measures.keys()].sort().map((n) => `${prefix}${n}`), ...last];
    log.info({ encodeSeconds, metadata, objects: uploaded.length }, 'rendition written');
    return { metadata, keys: uploaded, encodeSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rung of a rendition task (usage error when the ladder has none of that name). */
export function ladderRung(name: RenditionName, ladder: LadderSettings): LadderRung {
  try {
    return rung(name, ladder);
  } catch {
    throw usageError(`rendition ${name} is not in the ladder`);
  }
}

/**
 * Encodes the rung `name` of an opened source into `dir` (the whole rendition, or one chunk of it):
 * size, rate control, GOP and threads as the ladder says; each finished segment is measured with
 * `measure` and uploaded to its key while ffmpeg goes on. Leaves the playlist in `dir`.
 */
export async function encodeSegments<M>(
  ctx: TaskContext,
  name: RenditionName,
  opened: { url: string; info: ProbeInfo; video: ProbedStream },
  o: {
    dir: string;
    measure: (file: string) => Promise<M>;
    durationSeconds: number;
    chunk?: EncodeHlsOptions['chunk'];
  },
): Promise<{ measures: ReadonlyMap<string, M>; encodeSeconds: number }> {
  const { job, storage, media, log, signal } = ctx;
  const ladder = job.ladder;
  const target = ladderRung(name, ladder);
  const rates = rateControl(target, ladder);
  const { url, info, video } = opened;
  const audio = pickAudioStream(info);
  const size = scaleToFit(geometryOf(video), target);
  const frameRate = video.frameRate ?? FALLBACK_FPS;
  if (video.frameRate === undefined) log.warn({ fallback: FALLBACK_FPS }, 'source frame rate unknown');
  const threads = await encoderThreads(job.ffmpegThreads);
  const prefix = keys.renditionPrefix(job.videoId, name);
  log.info(
    {
      ...size,
      ...rates,
      frameRate,
      segmentSeconds: ladder.segmentSeconds,
      audio: audio !== undefined,
      threads: threads ?? 'auto',
      ...(o.chunk ? { chunk: o.chunk } : {}),
    },
    'encoding',
  );
  const started = performance.now();
  // Segments are measured, uploaded and deleted while ffmpeg goes on; a failure there stops ffmpeg.
  const stopEncode = new AbortController();
  const shipper = new SegmentShipper<M>({
    dir: o.dir,
    measure: o.measure,
    upload: (segment, file) => storage.uploadFile(job.mediaBucket, `${prefix}${segment}`, file),
    onError: () => stopEncode.abort(),
  });
  shipper.start();
  try {
    await media.encodeHlsRendition({
      input: url,
      outputDir: o.dir,
      videoStreamIndex: video.index,
      audioStreamIndex: audio?.index,
      width: size.width,
      height: size.height,
      frameRate,
      videoKbps: rates.videoKbps,
      maxrateKbps: rates.maxrateKbps,
      bufsizeKbps: rates.bufsizeKbps,
      audioKbps: rates.audioKbps,
      preset: ladder.preset,
      profile: ladder.profile,
      segmentSeconds: ladder.segmentSeconds,
      gopSeconds: ladder.gopSeconds,
      threads,
      signal: AbortSignal.any([signal, stopEncode.signal]),
      ...(o.chunk
        ? { chunk: o.chunk }
        : {
            durationSeconds: o.durationSeconds,
            onProgress: progressHook(
              job.videoId,
              name,
              job.progress ?? { intervalMs: 3_000, stepPercent: 5 },
              ctx.progress,
              log,
            ),
          }),
    });
  } catch (err) {
    await shipper.stop();
    if (shipper.error !== undefined) throw shippingFailure(shipper.error, name);
    throw sourceFailure(err, `encoding ${name}`);
  }
  let measures;
  try {
    measures = await shipper.finish();
  } catch (err) {
    throw shippingFailure(err, name);
  }
  return { measures, encodeSeconds: Math.round(performance.now() - started) / 1000 };
}

/** A storage error while shipping stays one; a failure to measure a segment is internal. */
function shippingFailure(err: unknown, name: string): TranscoderError {
  if (err instanceof TranscoderError) return err;
  return new TranscoderError('internal', `measuring ${name} output: ${(err as Error).message}`, {
    cause: err,
  });
}
