/** `thumbnail`: probe the source → <id>/probe.json, and a JPEG frame → <id>/thumbnail.jpg. */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  assertMediaFile,
  chunkKeys,
  keys,
  planChunks,
  probeResultSchema,
  type ProbeResult,
} from '../../common/video/index.js';
import {
  geometryOf,
  MediaError,
  pickAudioStream,
  scaleToFit,
  type ProbeInfo,
  type ProbedStream,
} from '../ffmpeg/index.js';
import { openSource, sourceFailure, type TaskContext } from './context.js';

/** Thumbnails fit in this box (never upscaled). */
export const THUMBNAIL_BOX = { width: 1280, height: 720 };

/** Default: 10% into the video. Always inside [0, duration − margin] so a frame exists there. */
export function thumbnailTime(requested: number | undefined, durationSeconds: number): number {
  const wanted = requested ?? durationSeconds * 0.1;
  if (!(durationSeconds > 0)) return Math.max(0, wanted);
  const margin = Math.min(0.5, durationSeconds / 2);
  return Math.round(Math.max(0, Math.min(wanted, durationSeconds - margin)) * 1000) / 1000;
}

/** The source as the operator sees it: displayed size (rotation and pixel aspect applied). */
export function probeResult(info: ProbeInfo, video: ProbedStream): ProbeResult {
  const display = scaleToFit(geometryOf(video), { width: 1 << 16, height: 1 << 16 });
  return {
    durationSeconds: Math.round((info.duration ?? video.duration ?? 0) * 1000) / 1000,
    width: display.width,
    height: display.height,
    hasAudio: pickAudioStream(info) !== undefined,
    videoCodec: video.codecName,
    frameRate: video.frameRate === undefined ? undefined : Math.round(video.frameRate * 1000) / 1000,
  };
}

/**
 * A chunked title (CHUNK_THRESHOLD_SECONDS set and a longer source, common/video/chunks.ts) with
 * audio: the audio encoded once, as every rendition encodes it, cut at the chunk boundaries into
 * packet-exact NUT pieces, uploaded to <id>/audio/chunk_<k>.nut. Nothing otherwise.
 */
async function writeAudioPieces(
  ctx: TaskContext,
  url: string,
  info: ProbeInfo,
  probe: ProbeResult,
  dir: string,
): Promise<string[]> {
  const { job, storage, media, log, signal } = ctx;
  const plan = job.chunking && planChunks(probe.durationSeconds, job.chunking, job.ladder.segmentSeconds);
  const audio = pickAudioStream(info);
  if (!plan || !audio) return [];
  const kbps = new Set(job.ladder.rungs.map((r) => r.audioKbps));
  if (kbps.size > 1)
    log.warn(
      { audioKbps: [...kbps] },
      "rungs differ in audio bitrate: chunked renditions share the first rung's",
    );
  const piecesDir = path.join(dir, 'audio');
  await mkdir(piecesDir);
  const started = performance.now();
  try {
    await media.audioPieces({
      input: url,
      outputDir: piecesDir,
      audioStreamIndex: audio.index,
      audioKbps: job.ladder.rungs[0]!.audioKbps,
      chunkSeconds: plan.chunkSeconds,
      count: plan.count,
      signal,
    });
  } catch (err) {
    throw sourceFailure(err, 'encoding the audio pieces');
  }
  const pieces = (await readdir(piecesDir)).filter((n) => /^audio_\d+\.nut$/.test(n));
  if (pieces.length !== plan.count)
    log.warn({ pieces: pieces.length, chunks: plan.count }, 'the audio ends before the last chunk starts');
  const written = await Promise.all(
    pieces.map(async (n) => {
      const key = chunkKeys.audioPiece(job.videoId, Number(/\d+/.exec(n)![0]));
      await storage.uploadFile(job.mediaBucket, key, path.join(piecesDir, n));
      return key;
    }),
  );
  log.info(
    { plan, pieces: written.length, seconds: Math.round(performance.now() - started) / 1000 },
    'audio pieces written',
  );
  return written.sort();
}

export async function runThumbnail(
  ctx: TaskContext,
): Promise<{ probe: ProbeResult; thumbnailAt: number; keys: string[] }> {
  const { job, storage, media, log, signal } = ctx;
  const { url, info, video } = await openSource(ctx, { checkBucket: job.mediaBucket });
  const probe = assertMediaFile(probeResultSchema, 'probe.json', probeResult(info, video));

  const dir = await mkdtemp(path.join(job.workDir, `thumb-${job.videoId}-`));
  try {
    const out = path.join(dir, 'thumbnail.jpg');
    const size = scaleToFit(geometryOf(video), THUMBNAIL_BOX);
    let at = thumbnailTime(job.thumbnailTime, probe.durationSeconds);
    const take = (atSeconds: number) =>
      media.thumbnail({ input: url, output: out, atSeconds, videoStreamIndex: video.index, ...size, signal });
    try {
      await take(at);
    } catch (err) {
      // A seek past the last decodable frame yields no picture: fall back to the first frame.
      if (!(err instanceof MediaError && err.failure === 'invalidInput' && at > 0))
        throw sourceFailure(err, 'taking the thumbnail');
      log.warn({ at, err: err.message }, 'no frame at the thumbnail time; taking the first frame');
      at = 0;
      try {
        await take(0);
      } catch (err2) {
        throw sourceFailure(err2, 'taking the thumbnail');
      }
    }
    const thumbKey = keys.thumbnail(job.videoId);
    const probeKey = keys.probe(job.videoId);
    // a chunked title's audio pieces exist before probe.json: the operator starts the chunks on it
    const pieceKeys = await writeAudioPieces(ctx, url, info, probe, dir);
    await storage.uploadFile(job.mediaBucket, thumbKey, out);
    await storage.putJson(job.mediaBucket, probeKey, probe);
    const written = [thumbKey, ...pieceKeys, probeKey];
    log.info({ probe, thumbnailAt: at, keys: written }, 'thumbnail and probe written');
    return { probe, thumbnailAt: at, keys: written };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
