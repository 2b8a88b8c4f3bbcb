/**
 * `rendition <name>`: encode one HLS VOD rendition of the source and upload
 * <id>/<name>/segment_NNN.ts, index.m3u8 and, last, rendition.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { keys, rung, type RenditionMetadata, type RenditionName } from '../../common/video/index.js';
import { TranscoderError, usageError } from '../errors.js';
import { scaleToFit } from '../ffmpeg/index.js';
import { rateControl } from '../ladder.js';
import { measureRendition } from '../metadata.js';
import { openSource, sourceFailure, type TaskContext } from './context.js';

/** Used for the GOP length when the source does not tell its frame rate. */
export const FALLBACK_FPS = 30;
export const RENDITION_FILE = 'rendition.json';
export const PLAYLIST = 'index.m3u8';

export interface RenditionResult {
  metadata: RenditionMetadata;
  keys: string[];
  encodeSeconds: number;
}

export async function runRendition(ctx: TaskContext, name: RenditionName): Promise<RenditionResult> {
  const { job, storage, media, log, signal } = ctx;
  const ladder = job.ladder;
  let target;
  try {
    target = rung(name, ladder);
  } catch {
    throw usageError(`rendition ${name} is not in the ladder`);
  }
  const rates = rateControl(target, ladder);

  await storage.checkBucket(job.mediaBucket);
  const { url, info, video } = await openSource(ctx);
  const audio = info.streams.find((s) => s.codecType === 'audio' && (s.channels ?? 1) > 0);
  const size = scaleToFit(
    {
      width: video.width!,
      height: video.height!,
      sampleAspectRatio: video.sampleAspectRatio,
      rotation: video.rotation,
    },
    target,
  );
  const frameRate = video.frameRate ?? FALLBACK_FPS;
  if (video.frameRate === undefined) log.warn({ fallback: FALLBACK_FPS }, 'source frame rate unknown');

  const dir = await mkdtemp(path.join(job.workDir, `${name}-${job.videoId}-`));
  try {
    log.info(
      { ...size, ...rates, frameRate, segmentSeconds: ladder.segmentSeconds, audio: audio !== undefined },
      'encoding',
    );
    const started = performance.now();
    let lastReported = -1;
    try {
      await media.encodeHlsRendition({
        input: url,
        outputDir: dir,
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
        signal,
        onProgress: (percent) => {
          const step = Math.floor(percent / 25) * 25;
          if (step > lastReported) {
            lastReported = step;
            log.info({ percent: step }, 'encoding progress');
          }
        },
      });
    } catch (err) {
      throw sourceFailure(err, `encoding ${name}`);
    }
    const encodeSeconds = Math.round(performance.now() - started) / 1000;

    let metadata: RenditionMetadata;
    try {
      metadata = await measureRendition(
        dir,
        media,
        { name, segmentSeconds: ladder.segmentSeconds },
        PLAYLIST,
      );
    } catch (err) {
      throw new TranscoderError('internal', `measuring ${name} output: ${(err as Error).message}`, {
        cause: err,
      });
    }
    await writeFile(path.join(dir, RENDITION_FILE), `${JSON.stringify(metadata, null, 2)}\n`);

    const uploaded = await storage.uploadDirectory(
      dir,
      job.mediaBucket,
      keys.renditionPrefix(job.videoId, name),
      {
        last: [PLAYLIST, RENDITION_FILE],
      },
    );
    log.info({ encodeSeconds, metadata, objects: uploaded.length }, 'rendition written');
    return { metadata, keys: uploaded, encodeSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
