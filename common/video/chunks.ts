/**
 * Chunked (scale-out) transcoding, issue 24: a long source's rendition is encoded by an Indexed Job,
 * completion index k encoding the source from k·L to (k+1)·L; a stitch Pod then renumbers the TS
 * continuity counters, and the operator writes the rendition's index.m3u8 and rendition.json from the
 * chunks' metadata once every join checked out. Shared by the transcoder (writer of the chunk
 * metadata and the stitch report) and the operator (reader).
 *
 * Key layout (under the Video's uid, media bucket): `<id>/audio/chunk_<k>.nut` (the probe Job's
 * audio pieces), `<id>/<res>/chunks/chunk_<k>.json` (one chunk's metadata), `<id>/<res>/chunks/stitch.json`.
 * PTS values are in MPEG-TS ticks (90 kHz).
 */
import type { RenditionName } from './constants.js';
import type { RenditionMetadata } from './types.js';

export interface ChunkingSettings {
  /** Sources longer than this many seconds are chunked; 0 = never. */
  thresholdSeconds: number;
  /** Length of one chunk, rounded UP to a multiple of the segment length. */
  chunkSeconds: number;
}

export const DEFAULT_CHUNKING: ChunkingSettings = { thresholdSeconds: 120, chunkSeconds: 30 };

export interface ChunkPlan {
  chunkSeconds: number;
  count: number;
}

/** undefined when the source is not longer than the threshold (or threshold 0) */
export function planChunks(
  durationSeconds: number,
  settings: ChunkingSettings,
  segmentSeconds: number,
): ChunkPlan | undefined {
  if (!(settings.thresholdSeconds > 0) || !(durationSeconds > settings.thresholdSeconds)) return undefined;
  const seg = segmentSeconds > 0 ? segmentSeconds : 1;
  const chunkSeconds = Math.max(1, Math.ceil(Math.max(settings.chunkSeconds, seg) / seg)) * seg;
  return { chunkSeconds, count: Math.max(1, Math.ceil(durationSeconds / chunkSeconds)) };
}

export const chunkKeys = {
  audioPiece: (id: string, index: number) => `${id}/audio/chunk_${index}.nut`,
  chunkMeta: (id: string, res: RenditionName, index: number) => `${id}/${res}/chunks/chunk_${index}.json`,
  stitchReport: (id: string, res: RenditionName) => `${id}/${res}/chunks/stitch.json`,
};

export interface ChunkSegment {
  name: string;
  extinf: string;
  bytes: number;
  firstVideoPts: number;
  lastVideoPts: number;
  videoFrames: number;
  firstAudioPts?: number;
  lastAudioPts?: number;
  audioPackets?: number;
}

export interface ChunkMetadata {
  rendition: RenditionName;
  index: number;
  count: number;
  startSeconds: number;
  targetDuration: number;
  segments: ChunkSegment[];
  videoPtsStep: number;
  audioPtsStep?: number;
  ccCounts: Record<string, number>;
  width: number;
  height: number;
  codecs: string;
  frameRate: number;
}

export interface StitchReport {
  rendition: RenditionName;
  count: number;
  segmentsRewritten: number;
  joins: { index: number; videoGapTicks: number; audioGapTicks?: number }[];
}

const TICKS = 90_000;
const byIndex = (chunks: ChunkMetadata[]) => [...chunks].sort((a, b) => a.index - b.index);

/** The rendition's index.m3u8 text: every chunk's segments in order, one VOD playlist. */
export function stitchPlaylist(chunks: ChunkMetadata[]): string {
  const sorted = byIndex(chunks);
  const target = Math.max(1, ...sorted.map((c) => Math.ceil(c.targetDuration)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
  ];
  for (const c of sorted) for (const s of c.segments) lines.push(`#EXTINF:${s.extinf},`, s.name);
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/**
 * undefined = pass, else the reason: every index 0..count-1 once, the same picture and codecs in
 * each, frame counts that match the timestamps, and no gap or overlap at any join (video and audio).
 */
export function checkChunks(chunks: ChunkMetadata[], report?: StitchReport): string | undefined {
  if (chunks.length === 0) return 'no chunks';
  const sorted = byIndex(chunks);
  const first = sorted[0]!;
  const count = first.count;
  if (sorted.length !== count) return `${sorted.length} chunk(s) found, ${count} expected`;
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    if (c.index !== i) return `chunk ${i} is missing`;
    if (c.count !== count) return `chunk ${i} says ${c.count} chunks, chunk 0 says ${count}`;
    if (c.rendition !== first.rendition) return `chunk ${i} is of ${c.rendition}, not ${first.rendition}`;
    if (c.width !== first.width || c.height !== first.height || c.codecs !== first.codecs)
      return `chunk ${i} is ${c.width}x${c.height} ${c.codecs}, chunk 0 is ${first.width}x${first.height} ${first.codecs}`;
    if (c.segments.length === 0) return `chunk ${i} has no segments`;
    if (!(c.videoPtsStep > 0)) return `chunk ${i} has no video timestamp step`;
    for (const s of c.segments) {
      const frames = Math.round((s.lastVideoPts - s.firstVideoPts) / c.videoPtsStep) + 1;
      if (s.videoFrames !== frames)
        return `chunk ${i} segment ${s.name}: ${s.videoFrames} frames, its timestamps span ${frames}`;
    }
    if (i === 0) continue;
    const prev = sorted[i - 1]!;
    const a = prev.segments[prev.segments.length - 1]!;
    const b = c.segments[0]!;
    const videoGap = b.firstVideoPts - (a.lastVideoPts + prev.videoPtsStep);
    if (videoGap !== 0)
      return `join ${i - 1}→${i}: video ${videoGap > 0 ? 'gap' : 'overlap'} of ${Math.abs(videoGap)} ticks (${(Math.abs(videoGap) / TICKS).toFixed(3)} s)`;
    if (a.lastAudioPts !== undefined && b.firstAudioPts !== undefined && prev.audioPtsStep) {
      const audioGap = b.firstAudioPts - (a.lastAudioPts + prev.audioPtsStep);
      if (Math.abs(audioGap) > prev.audioPtsStep)
        return `join ${i - 1}→${i}: audio ${audioGap > 0 ? 'gap' : 'overlap'} of ${Math.abs(audioGap)} ticks`;
    }
  }
  if (report) {
    if (report.rendition !== first.rendition || report.count !== count)
      return `stitch report is for ${report.rendition} × ${report.count}, chunks are ${first.rendition} × ${count}`;
    const bad = report.joins.find((j) => j.videoGapTicks !== 0);
    if (bad) return `stitch report: video gap of ${bad.videoGapTicks} ticks at join ${bad.index}`;
  }
  return undefined;
}

/** rendition.json of a chunked rendition, from its chunks' metadata (same fields as a single encode's). */
export function renditionMetadataFromChunks(chunks: ChunkMetadata[]): RenditionMetadata {
  const sorted = byIndex(chunks);
  const first = sorted[0];
  if (!first) throw new Error('no chunks');
  const segments = sorted.flatMap((c) => c.segments);
  const origin = segments[0]?.firstVideoPts ?? 0;
  let total = 0;
  let bytes = 0;
  let peak = 0;
  for (const s of segments) {
    const d = Number.parseFloat(s.extinf);
    total += d;
    bytes += s.bytes;
    if (d > 0) peak = Math.max(peak, (s.bytes * 8) / d);
  }
  const firstDuration = Number.parseFloat(segments[0]?.extinf ?? '0');
  return {
    name: first.rendition,
    width: first.width,
    height: first.height,
    bandwidth: Math.max(1, Math.round(peak)),
    averageBandwidth: Math.max(1, Math.round(total > 0 ? (bytes * 8) / total : 0)),
    codecs: first.codecs,
    frameRate: first.frameRate,
    segmentDuration: firstDuration > 0 ? firstDuration : first.targetDuration,
    segmentStarts: segments.map((s) => Math.max(0, (s.firstVideoPts - origin) / TICKS)),
    durationSeconds: total,
    segmentCount: segments.length,
    hasAudio: segments.some((s) => s.audioPackets !== undefined),
  };
}
