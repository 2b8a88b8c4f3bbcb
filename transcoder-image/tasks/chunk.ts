/**
 * `chunk <name>`: one chunk of a chunked rendition (common/video/chunks.ts), chunk k =
 * JOB_COMPLETION_INDEX of CHUNK_COUNT: the video from k·L (to (k+1)·L, or to the end for the last
 * chunk) with the rendition's own settings, its audio piece (encoded once by the probe Job) stream-
 * copied, segments numbered from k·L / segment length and uploaded to the rendition's usual keys; then
 * <id>/<name>/chunks/chunk_<k>.json, measured from the segments' bytes. No index.m3u8: the operator
 * writes it from every chunk's metadata after the `stitch` task.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  assertMediaFile,
  chunkKeys,
  chunkLength,
  chunkMetadataSchema,
  type ChunkMetadata,
  type ChunkSegment,
  type RenditionName,
} from '../../common/video/index.js';
import { TranscoderError, usageError } from '../errors.js';
import { pickAudioStream } from '../ffmpeg/index.js';
import { codecsString, measureSegment, parseMediaPlaylist, type SegmentMeasure } from '../metadata.js';
import { TsScanner, type TsMeasure } from '../ts-packets.js';
import { openSource, type TaskContext } from './context.js';
import { encodeSegments, ladderRung, PLAYLIST } from './rendition.js';
import { probeResult } from './thumbnail.js';

export interface ChunkResult {
  metadata: ChunkMetadata;
  keys: string[];
  encodeSeconds: number;
}

/** Reads a transport stream file through the TS scanner (constant memory). */
export async function scanTsFile(file: string): Promise<TsMeasure> {
  const scanner = new TsScanner();
  for await (const piece of createReadStream(file)) scanner.push(piece as Buffer);
  return scanner.finish();
}

/** 90 kHz ticks per frame at `fps` (not always whole: 23.976 fps gives 3753.75). */
export function videoPtsStep(fps: number): number {
  return Math.round((90_000 / fps) * 1e6) / 1e6;
}

/** Which chunk this run is, from CHUNK_COUNT and JOB_COMPLETION_INDEX (usage error when absent or out of range). */
export function chunkPosition(job: { chunkCount?: number; chunkIndex?: number }): {
  index: number;
  count: number;
} {
  const { chunkCount: count, chunkIndex: index } = job;
  if (count === undefined || index === undefined)
    throw usageError('chunk needs CHUNK_COUNT and JOB_COMPLETION_INDEX (an Indexed Job)');
  if (index >= count) throw usageError(`JOB_COMPLETION_INDEX ${index} is not below CHUNK_COUNT ${count}`);
  return { index, count };
}

export async function runChunk(ctx: TaskContext, name: RenditionName): Promise<ChunkResult> {
  const { job, storage, media, log } = ctx;
  ladderRung(name, job.ladder);
  const { index, count } = chunkPosition(job);
  const segmentSeconds = job.ladder.segmentSeconds;
  const L = chunkLength(job.chunkSeconds, segmentSeconds);
  const opened = await openSource(ctx, { checkBucket: job.mediaBucket });
  const source = probeResult(opened.info, opened.video);
  const startSeconds = index * L;
  if (startSeconds >= source.durationSeconds)
    throw usageError(
      `chunk ${index} starts at ${startSeconds} s, after the source's end (${source.durationSeconds} s)`,
    );
  const hasAudio = pickAudioStream(opened.info) !== undefined;

  const dir = await mkdtemp(path.join(job.workDir, `${name}-chunk${index}-${job.videoId}-`));
  try {
    let audioPiece: string | undefined;
    if (hasAudio) {
      audioPiece = path.join(dir, 'audio.nut');
      const key = chunkKeys.audioPiece(job.videoId, index);
      if (!(await storage.downloadFile(job.mediaBucket, key, audioPiece)))
        throw new TranscoderError('internal', `audio piece ${key} is missing (the probe Job writes it)`);
    }
    const segDir = path.join(dir, 'out');
    await mkdir(segDir);
    const { measures, encodeSeconds } = await encodeSegments(ctx, name, opened, {
      dir: segDir,
      measure: async (file) => {
        const [probe, ts] = await Promise.all([measureSegment(file, media), scanTsFile(file)]);
        return { probe, ts };
      },
      durationSeconds: source.durationSeconds,
      chunk: {
        startSeconds,
        ...(index < count - 1 ? { durationSeconds: L } : {}),
        startNumber: Math.round(startSeconds / segmentSeconds),
        ...(audioPiece !== undefined ? { audioPiece } : {}),
        sourceStartTime: opened.info.startTime ?? 0,
      },
    });
    let metadata: ChunkMetadata;
    try {
      const playlist = parseMediaPlaylist(await readFile(path.join(segDir, PLAYLIST), 'utf8'));
      metadata = assertMediaFile(
        chunkMetadataSchema,
        `chunk_${index}.json`,
        chunkMetadata(playlist, measures, {
          name,
          index,
          count,
          startSeconds,
          segmentSeconds,
          hasAudio,
        }),
      );
    } catch (err) {
      throw new TranscoderError('internal', `measuring ${name} chunk ${index}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const metaKey = chunkKeys.chunkMeta(job.videoId, name, index);
    await storage.putJson(job.mediaBucket, metaKey, metadata);
    const prefix = `${job.videoId}/${name}/`;
    const uploaded = [...[...measures.keys()].sort().map((n) => `${prefix}${n}`), metaKey];
    log.info(
      { encodeSeconds, segments: metadata.segments.length, objects: uploaded.length },
      'chunk written',
    );
    return { metadata, keys: uploaded, encodeSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A chunk's metadata from its playlist and the measures (ffprobe + TS scan) of its segments. */
export function chunkMetadata(
  playlist: ReturnType<typeof parseMediaPlaylist>,
  measures: ReadonlyMap<string, { probe: SegmentMeasure; ts: TsMeasure }>,
  c: {
    name: RenditionName;
    index: number;
    count: number;
    startSeconds: number;
    segmentSeconds: number;
    hasAudio: boolean;
  },
): ChunkMetadata {
  if (!playlist.endList) throw new Error('playlist has no #EXT-X-ENDLIST: encode incomplete');
  if (playlist.segments.length === 0) throw new Error('playlist lists no segment');
  const ccCounts: Record<string, number> = {};
  const ccFirst: Record<string, number> = {};
  let audioPtsStep: number | undefined;
  const segments: ChunkSegment[] = playlist.segments.map((seg) => {
    const m = measures.get(seg.uri);
    if (!m) throw new Error(`segment ${seg.uri} of the playlist was not measured`);
    const t = m.ts;
    if (t.firstVideoPts === undefined || t.lastVideoPts === undefined)
      throw new Error(`${seg.uri}: no video`);
    for (const [pid, n] of Object.entries(t.payloadPackets)) ccCounts[pid] = ((ccCounts[pid] ?? 0) + n) % 16;
    for (const [pid, cc] of Object.entries(t.firstCc)) ccFirst[pid] ??= cc;
    if (c.hasAudio && (t.firstAudioPts === undefined || t.lastAudioPts === undefined))
      throw new Error(`${seg.uri}: no audio`);
    audioPtsStep ??= t.audioPtsStep;
    return {
      name: seg.uri,
      extinf: seg.extinf,
      bytes: m.probe.bytes,
      firstVideoPts: t.firstVideoPts,
      lastVideoPts: t.lastVideoPts,
      videoFrames: t.videoFrames,
      ...(c.hasAudio
        ? { firstAudioPts: t.firstAudioPts!, lastAudioPts: t.lastAudioPts!, audioPackets: t.audioPackets }
        : {}),
      ccFirst: t.firstCc,
    };
  });
  const first = measures.get(playlist.segments[0]!.uri)!.probe;
  const fps = first.video.frameRate;
  if (fps === undefined) throw new Error('cannot read the frame rate of the output');
  if (first.video.width === undefined || first.video.height === undefined)
    throw new Error('cannot read the output size');
  return {
    rendition: c.name,
    index: c.index,
    count: c.count,
    startSeconds: c.startSeconds,
    targetDuration: playlist.targetDuration,
    segments,
    videoPtsStep: videoPtsStep(fps),
    ...(c.hasAudio && audioPtsStep !== undefined ? { audioPtsStep } : {}),
    ccCounts,
    width: first.video.width,
    height: first.video.height,
    codecs: codecsString(first.video, first.audio),
    frameRate: Math.round(fps * 1000) / 1000,
    segmentSeconds: c.segmentSeconds,
    ccFirst,
    ...(playlist.version !== undefined ? { playlistVersion: playlist.version } : {}),
  };
}
