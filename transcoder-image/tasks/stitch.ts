/**
 * `stitch <name>`: after every chunk of a chunked rendition is written (common/video/chunks.ts), makes
 * the segments what a single process writes. Each PID's MPEG-TS continuity counters restart in every
 * chunk; the segments of chunks ≥ 1 are streamed down, renumbered so that each PID continues from the
 * chunk before, and streamed back (same size, constant memory per segment, a few at a time; a retried
 * stitch finds them right and changes nothing). Every join is measured on the real bytes (first
 * PTS after it against the last before it plus one step, video and audio) into
 * <id>/<name>/chunks/stitch.json; checkChunks then decides: a failed check is bad input (exit 2)
 * with its reason. index.m3u8 and rendition.json are the operator's (stitchPlaylist,
 * renditionMetadataFromChunks).
 */
import {
  checkChunks,
  checkMediaFile,
  chunkKeys,
  chunkMetadataSchema,
  keys,
  type ChunkMetadata,
  type RenditionName,
  type StitchReport,
  ticksGap,
} from '../../common/video/index.js';
import { badInput, TranscoderError, usageError } from '../errors.js';
import { pool } from '../storage.js';
import {
  ContinuityRewriter,
  continuityOffsets,
  segmentContinuityTargets,
  TsScanner,
  type TsMeasure,
} from '../ts-packets.js';
import type { TaskContext } from './context.js';
import { ladderRung } from './rendition.js';

/** Segments rewritten at the same time. */
export const STITCH_CONCURRENCY = 4;

export interface StitchResult {
  report: StitchReport;
  keys: string[];
}

export async function runStitch(ctx: TaskContext, name: RenditionName): Promise<StitchResult> {
  const { job, storage, log } = ctx;
  ladderRung(name, job.ladder);
  const count = job.chunkCount;
  if (count === undefined) throw usageError('stitch needs CHUNK_COUNT');
  await storage.checkBucket(job.mediaBucket);
  const chunks: ChunkMetadata[] = [];
  for (let k = 0; k < count; k++) {
    const key = chunkKeys.chunkMeta(job.videoId, name, k);
    const raw = await storage.getJson(job.mediaBucket, key);
    if (raw === undefined) continue;
    const checked = checkMediaFile(chunkMetadataSchema, key, { ok: raw });
    if ('error' in checked) throw badInput(`chunks of ${name} do not stitch: ${checked.error}`);
    chunks.push(checked.ok);
  }
  const structural = checkChunks(chunks);
  if (chunks.length !== count || structural !== undefined)
    throw badInput(
      `chunks of ${name} do not stitch: ${structural ?? `${chunks.length} of ${count} chunk metadata files`}`,
    );
  chunks.sort((a, b) => a.index - b.index);

  // Each chunk's first and last segment, measured on the bytes as they are in the bucket.
  const edges = new Map<string, TsMeasure>();
  const isEdge = (c: ChunkMetadata, i: number) => i === 0 || i === c.segments.length - 1;
  const work: { chunk: ChunkMetadata; i: number }[] = [];
  for (const chunk of chunks)
    chunk.segments.forEach((_, i) => {
      if (chunk.index > 0 || (i === chunk.segments.length - 1 && count > 1)) work.push({ chunk, i });
    });
  let rewritten = 0;
  const started = performance.now();
  await pool(work, STITCH_CONCURRENCY, async ({ chunk, i }) => {
    const seg = chunk.segments[i]!;
    const key = keys.segment(job.videoId, name, seg.name);
    const scanner = isEdge(chunk, i) ? new TsScanner() : undefined;
    const observe = scanner ? (b: Buffer) => scanner.push(b) : undefined;
    if (chunk.index === 0) {
      // chunk 0 keeps its counters: its last segment is only read, for the join
      await storage.read(job.mediaBucket, key, (piece) => scanner!.push(piece));
    } else {
      if (!seg.ccFirst) throw new TranscoderError('internal', `${key}: chunk metadata without ccFirst`);
      const targets = segmentContinuityTargets(seg.ccFirst, continuityOffsets(chunks, chunk.index));
      await storage.rewrite(job.mediaBucket, key, seg.bytes, new ContinuityRewriter(targets, observe));
      rewritten++;
    }
    if (scanner) edges.set(`${chunk.index}:${i}`, scanner.finish());
  });

  const vStep = chunks[0]!.videoPtsStep;
  const aStep = chunks[0]!.audioPtsStep;
  const joins: StitchReport['joins'] = [];
  for (let k = 1; k < count; k++) {
    const before = edges.get(`${k - 1}:${chunks[k - 1]!.segments.length - 1}`);
    const after = edges.get(`${k}:0`);
    if (!before || !after) throw new TranscoderError('internal', `join ${k}: segments not measured`);
    if (before.lastVideoPts === undefined || after.firstVideoPts === undefined)
      throw badInput(`chunks of ${name} do not stitch: no video at the join into chunk ${k}`);
    const join: StitchReport['joins'][number] = {
      index: k,
      videoGapTicks: ticksGap(after.firstVideoPts, before.lastVideoPts, vStep),
    };
    if (aStep !== undefined) {
      join.audioGapTicks =
        before.lastAudioPts === undefined || after.firstAudioPts === undefined
          ? Number.NaN
          : ticksGap(after.firstAudioPts, before.lastAudioPts, aStep);
    }
    joins.push(join);
  }
  const report: StitchReport = { rendition: name, count, segmentsRewritten: rewritten, joins };
  const reportKey = chunkKeys.stitchReport(job.videoId, name);
  await storage.putJson(job.mediaBucket, reportKey, report);
  log.info({ seconds: Math.round(performance.now() - started) / 1000, report }, 'chunks stitched');
  const failed = checkChunks(chunks, report);
  if (failed !== undefined) throw badInput(`chunks of ${name} do not stitch: ${failed}`);
  return { report, keys: [reportKey] };
}
