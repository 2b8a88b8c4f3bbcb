/**
 * Chunked (scale-out) transcoding of one rendition (issue 24): above a duration threshold a rendition
 * is encoded as `count` chunks of L seconds by an Indexed Job (completion index k encodes k·L..(k+1)·L;
 * the last chunk encodes to the end of the source), the audio is encoded once per title by the probe
 * Job and cut into packet-exact pieces at the chunk boundaries, and the `stitch` task renumbers the
 * MPEG-TS continuity counters at the joins. The operator then writes the rendition's index.m3u8
 * (`stitchPlaylist`) and rendition.json (`renditionMetadataFromChunks`) after `checkChunks` passed.
 * The result is what a single process writes: same playlist text, same segment boundaries and
 * timestamps, no #EXT-X-DISCONTINUITY (recipe and measurements: notes/segment-parallel.md).
 *
 * Owner: this module (the transcoder writes the chunk metadata, the operator reads it). All
 * timestamps are MPEG-TS 90 kHz ticks as they are in the segments.
 */
import { z } from 'zod';
import { RENDITIONS, type RenditionName } from './constants.js';
import { measureBandwidth } from './media-files.js';
import type { RenditionMetadata } from './types.js';

export interface ChunkingSettings {
  /** Sources longer than this many seconds are encoded in chunks; 0 = never chunk. Default 120. */
  thresholdSeconds: number;
  /** Chunk length L in seconds; rounded UP to a multiple of the segment length (SEGMENT_SECONDS). Default 30. */
  chunkSeconds: number;
}

export const DEFAULT_CHUNKING: ChunkingSettings = { thresholdSeconds: 120, chunkSeconds: 30 };

export interface ChunkPlan {
  /** Effective L: a multiple of the segment length. */
  chunkSeconds: number;
  /** ceil(duration / L), except a remainder under MIN_LAST_CHUNK_SECONDS, which the last chunk absorbs. */
  count: number;
}

/**
 * A remainder shorter than this (the format's duration often exceeds the video's by the audio's
 * padding) is encoded by the last chunk, which always runs to the end of the source, instead of a
 * chunk that could hold no video frame at all.
 */
export const MIN_LAST_CHUNK_SECONDS = 1;

/** MPEG-TS clock. */
export const TS_HZ = 90_000;

/** The effective chunk length L: `chunkSeconds` rounded up to a multiple of the segment length (≥ one segment). */
export function chunkLength(chunkSeconds: number, segmentSeconds: number): number {
  if (!(segmentSeconds > 0)) throw new RangeError(`segment length must be positive, got ${segmentSeconds}`);
  return Math.max(1, Math.ceil(chunkSeconds / segmentSeconds - 1e-9)) * segmentSeconds;
}

/**
 * undefined when the source is not longer than the threshold (or threshold 0), or when the plan
 * would be a single chunk: one process, as today.
 */
export function planChunks(
  durationSeconds: number,
  settings: ChunkingSettings,
  segmentSeconds: number,
): ChunkPlan | undefined {
  if (!(settings.thresholdSeconds > 0) || !(durationSeconds > settings.thresholdSeconds)) return undefined;
  const chunkSeconds = chunkLength(settings.chunkSeconds, segmentSeconds);
  const count = Math.max(1, Math.ceil((durationSeconds - MIN_LAST_CHUNK_SECONDS) / chunkSeconds - 1e-9));
  return count > 1 ? { chunkSeconds, count } : undefined;
}

export const chunkKeys = {
  audioPiece: (id: string, index: number) => `${id}/audio/chunk_${index}.nut`,
  chunkMeta: (id: string, res: RenditionName, index: number) => `${id}/${res}/chunks/chunk_${index}.json`,
  stitchReport: (id: string, res: RenditionName) => `${id}/${res}/chunks/stitch.json`,
};

export interface ChunkSegment {
  /** segment_NNN.ts (global numbering via -start_number). */
  name: string;
  /** EXTINF value verbatim from ffmpeg's chunk playlist, e.g. "6.000000". */
  extinf: string;
  bytes: number;
  firstVideoPts: number;
  lastVideoPts: number;
  videoFrames: number;
  firstAudioPts?: number;
  lastAudioPts?: number;
  audioPackets?: number;
  /** Addition: per TS PID, the continuity counter of the segment's first packet, as the chunk wrote it. */
  ccFirst?: Record<string, number>;
}

export interface ChunkMetadata {
  rendition: RenditionName;
  index: number;
  count: number;
  startSeconds: number;
  /** From the chunk playlist header. */
  targetDuration: number;
  segments: ChunkSegment[];
  videoPtsStep: number;
  audioPtsStep?: number;
  /** Per TS PID (decimal string): payload-carrying packets in the chunk mod 16. */
  ccCounts: Record<string, number>;
  width: number;
  height: number;
  codecs: string;
  frameRate: number;
  /** Addition: the ladder's segment length (s); the grid segments start on. */
  segmentSeconds?: number;
  /** Addition: per TS PID, the continuity counter of the chunk's first payload packet (ffmpeg: 0). */
  ccFirst?: Record<string, number>;
  /** Addition: #EXT-X-VERSION of the chunk playlist (ffmpeg writes 6 with INDEPENDENT-SEGMENTS). */
  playlistVersion?: number;
}

export interface StitchReport {
  rendition: RenditionName;
  count: number;
  segmentsRewritten: number;
  /** Measured on the real bytes, 0 = seamless. `index` is the later chunk of the join. */
  joins: { index: number; videoGapTicks: number; audioGapTicks?: number }[];
}

const ticks = z.number().min(0);
const count = z.number().int().min(0);
const ccMap = z.record(z.string().regex(/^\d+$/), z.number().int().min(0).max(15));

/** chunk_<k>.json as the chunk task writes it (checked on write) and the stitch and the operator read it. */
export const chunkMetadataSchema: z.ZodType<ChunkMetadata> = z.object({
  rendition: z.enum(RENDITIONS),
  index: count,
  count: z.number().int().min(1),
  startSeconds: z.number().min(0),
  targetDuration: z.number().positive(),
  segments: z
    .array(
      z.object({
        name: z.string().regex(/^segment_\d{3,6}\.ts$/),
        extinf: z.string().regex(/^\d+(\.\d+)?$/),
        bytes: z.number().int().positive(),
        firstVideoPts: ticks,
        lastVideoPts: ticks,
        videoFrames: z.number().int().positive(),
        firstAudioPts: ticks.optional(),
        lastAudioPts: ticks.optional(),
        audioPackets: count.optional(),
        ccFirst: ccMap.optional(),
      }),
    )
    .min(1),
  videoPtsStep: z.number().positive(),
  audioPtsStep: z.number().positive().optional(),
  ccCounts: ccMap,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  codecs: z.string().min(1),
  frameRate: z.number().positive(),
  segmentSeconds: z.number().positive().optional(),
  ccFirst: ccMap.optional(),
  playlistVersion: z.number().int().positive().optional(),
});

/** stitch.json. */
export const stitchReportSchema: z.ZodType<StitchReport> = z.object({
  rendition: z.enum(RENDITIONS),
  count: z.number().int().min(1),
  segmentsRewritten: count,
  joins: z.array(
    z.object({
      index: z.number().int().min(1),
      videoGapTicks: z.number(),
      audioGapTicks: z.number().optional(),
    }),
  ),
});

/** The chunks sorted by index (a copy). */
function ordered(chunks: ChunkMetadata[]): ChunkMetadata[] {
  return [...chunks].sort((a, b) => a.index - b.index);
}

/** index.m3u8 text from the chunks in index order: what ffmpeg writes for one process (no DISCONTINUITY). */
export function stitchPlaylist(chunks: ChunkMetadata[]): string {
  const list = ordered(chunks);
  if (list.length === 0) throw new Error('no chunk to stitch');
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${list[0]!.playlistVersion ?? 6}`,
    `#EXT-X-TARGETDURATION:${Math.max(...list.map((c) => c.targetDuration))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  for (const c of list) for (const s of c.segments) lines.push(`#EXTINF:${s.extinf},`, s.name);
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/**
 * `next` − (`last` + `step`) in ticks: 0 when seamless. A step that is not a whole number of ticks
 * (23.976 fps: 3753.75) leaves the muxer's rounding, under one tick, which counts as 0.
 */
export function ticksGap(next: number, last: number, step: number): number {
  const g = next - (last + step);
  return Math.abs(g) < 1 ? 0 : Math.round(g);
}

const segmentNumber = (name: string) => Number(/^segment_(\d+)\.ts$/.exec(name)?.[1] ?? NaN);

/**
 * All `count` chunks present once, constant steps, at each join next first PTS == previous last + step
 * (video and audio), segments on the k·segmentSeconds grid, frame totals match; undefined when all
 * pass, else a one-line reason.
 */
export function checkChunks(chunks: ChunkMetadata[], report?: StitchReport): string | undefined {
  if (chunks.length === 0) return 'no chunk metadata';
  const list = ordered(chunks);
  const count = list[0]!.count;
  if (list.some((c) => c.count !== count)) return 'chunks disagree on the chunk count';
  for (let k = 0; k < list.length; k++) {
    if (list[k]!.index !== k)
      return list[k]!.index < k ? `chunk ${list[k]!.index} is present twice` : `chunk ${k} is missing`;
  }
  if (list.length !== count) return `chunk ${list.length} is missing (${list.length} of ${count})`;
  const first = list[0]!;
  const vStep = first.videoPtsStep;
  const aStep = first.audioPtsStep;
  if (!(vStep > 0)) return `chunk 0: invalid video PTS step ${vStep}`;
  const hasAudio = aStep !== undefined;
  const segSeconds = first.segmentSeconds ?? first.targetDuration;
  const segTicks = Math.round(segSeconds * TS_HZ);
  const origin = first.segments[0]?.firstVideoPts;
  if (origin === undefined) return 'chunk 0 has no segment';
  let prev: ChunkSegment | undefined;
  let prevChunk = -1;
  for (const c of list) {
    if (c.videoPtsStep !== vStep) return `chunk ${c.index}: video PTS step ${c.videoPtsStep} ≠ ${vStep}`;
    if (c.audioPtsStep !== aStep)
      return `chunk ${c.index}: audio PTS step ${String(c.audioPtsStep)} ≠ ${String(aStep)}`;
    if (c.segments.length === 0) return `chunk ${c.index} has no segment`;
    const expectedFirst = Math.round(c.startSeconds / segSeconds);
    if (segmentNumber(c.segments[0]!.name) !== expectedFirst)
      return `chunk ${c.index}: first segment ${c.segments[0]!.name}, expected number ${expectedFirst}`;
    for (const s of c.segments) {
      const where = `chunk ${c.index} ${s.name}`;
      const n = segmentNumber(s.name);
      if (!Number.isInteger(n)) return `${where}: not a segment name`;
      if (prev && n !== segmentNumber(prev.name) + 1) return `${where}: follows ${prev.name}`;
      const frames = Math.round((s.lastVideoPts - s.firstVideoPts) / vStep) + 1;
      if (s.videoFrames !== frames)
        return `${where}: ${s.videoFrames} video frames, PTS span says ${frames} (missing or duplicate frames)`;
      if (prev) {
        const kind = prevChunk === c.index ? 'inside the chunk' : `at the join ${prevChunk}→${c.index}`;
        const gap = ticksGap(s.firstVideoPts, prev.lastVideoPts, vStep);
        if (gap !== 0) return `${where}: video PTS gap of ${gap} ticks ${kind}`;
        if (hasAudio) {
          if (s.firstAudioPts === undefined || prev.lastAudioPts === undefined)
            return `${where}: audio missing`;
          const aGap = ticksGap(s.firstAudioPts, prev.lastAudioPts, aStep);
          if (aGap !== 0) return `${where}: audio PTS gap of ${aGap} ticks ${kind}`;
        }
      }
      // the first frame at or after n·segment length (a frame step that is not whole ticks: within one tick)
      const offGrid = s.firstVideoPts - origin - n * segTicks;
      if (offGrid <= -1 || offGrid >= vStep)
        return `${where}: first video PTS ${s.firstVideoPts} is off the ${segSeconds} s segment grid by ${offGrid} ticks`;
      if (
        hasAudio &&
        s.audioPackets !== undefined &&
        s.firstAudioPts !== undefined &&
        s.lastAudioPts !== undefined
      ) {
        const packets = Math.round((s.lastAudioPts - s.firstAudioPts) / aStep) + 1;
        if (s.audioPackets !== packets)
          return `${where}: ${s.audioPackets} audio packets, PTS span says ${packets}`;
      }
      prev = s;
      prevChunk = c.index;
    }
  }
  if (report) {
    if (report.count !== count) return `stitch report for ${report.count} chunks, metadata for ${count}`;
    if (report.joins.length !== count - 1)
      return `stitch report measured ${report.joins.length} of ${count - 1} joins`;
    for (const j of report.joins) {
      if (j.videoGapTicks !== 0)
        return `stitch: video gap of ${j.videoGapTicks} ticks at the join into chunk ${j.index}`;
      if (hasAudio && j.audioGapTicks !== 0)
        return `stitch: audio gap of ${String(j.audioGapTicks)} ticks at the join into chunk ${j.index}`;
    }
  }
  return undefined;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** The rendition.json a single process would write, from the chunks. */
export function renditionMetadataFromChunks(chunks: ChunkMetadata[]): RenditionMetadata {
  const list = ordered(chunks);
  const first = list[0];
  if (!first) throw new Error('no chunk metadata');
  const segments = list.flatMap((c) => c.segments);
  const origin = segments[0]!.firstVideoPts;
  const durations = segments.map((s) => Number.parseFloat(s.extinf));
  const { peak, average } = measureBandwidth(
    segments.map((s, i) => ({ bytes: s.bytes, duration: durations[i]! })),
  );
  return {
    name: first.rendition,
    width: first.width,
    height: first.height,
    bandwidth: peak,
    averageBandwidth: average,
    codecs: first.codecs,
    frameRate: first.frameRate,
    segmentDuration: first.segmentSeconds ?? first.targetDuration,
    segmentStarts: segments.map((s) => round3((s.firstVideoPts - origin) / TS_HZ)),
    durationSeconds: round3(durations.reduce((n, d) => n + d, 0)),
    segmentCount: segments.length,
    hasAudio: first.audioPtsStep !== undefined,
  };
}
