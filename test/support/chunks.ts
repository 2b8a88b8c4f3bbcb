/**
 * What chunk Pods and a stitch Pod of a chunked rendition (issue 24, common/video/chunks.ts) would
 * write, for tests that play the transcoder: chunk k of n holds `segmentsPerChunk` segments of 6 s at
 * 25 fps, video and audio (48 kHz AAC) contiguous across every join unless `shiftTicks` moves a chunk.
 */
import {
  segmentName,
  type ChunkMetadata,
  type RenditionName,
  type StitchReport,
} from '../../common/video/index.js';

const DIMS: Record<RenditionName, [number, number]> = {
  '480p': [854, 480],
  '720p': [1280, 720],
  '1080p': [1920, 1080],
};

export function chunkMetadataFixture(
  rendition: RenditionName,
  index: number,
  count: number,
  o: { segmentsPerChunk?: number; shiftTicks?: number } = {},
): ChunkMetadata {
  const per = o.segmentsPerChunk ?? 5;
  const step = 3600; // 90 kHz / 25 fps
  const audioStep = 1920; // 1024 samples at 48 kHz
  const origin = 126_000 + (o.shiftTicks ?? 0);
  const audioAt = (g: number) => Math.round((g * 6 * 90_000) / audioStep) * audioStep;
  const segments = Array.from({ length: per }, (_, j) => {
    const g = index * per + j;
    const first = origin + g * 150 * step;
    return {
      name: segmentName(g),
      extinf: '6.000000',
      bytes: 400_000 + j,
      firstVideoPts: first,
      lastVideoPts: first + 149 * step,
      videoFrames: 150,
      firstAudioPts: origin + audioAt(g),
      lastAudioPts: origin + audioAt(g + 1) - audioStep,
      audioPackets: (audioAt(g + 1) - audioAt(g)) / audioStep,
    };
  });
  const [width, height] = DIMS[rendition];
  return {
    rendition,
    index,
    count,
    startSeconds: index * per * 6,
    targetDuration: 6,
    segments,
    videoPtsStep: step,
    audioPtsStep: audioStep,
    // payload-carrying packets mod 16 (the contract's 0..15)
    ccCounts: { '256': (per * 40) % 16, '257': (per * 10) % 16 },
    width,
    height,
    codecs: 'avc1.64001f,mp4a.40.2',
    frameRate: 25,
  };
}

export function stitchReportFixture(
  rendition: RenditionName,
  count: number,
  segmentsPerChunk = 5,
): StitchReport {
  return {
    rendition,
    count,
    segmentsRewritten: count * segmentsPerChunk,
    joins: Array.from({ length: count - 1 }, (_, i) => ({
      index: i + 1,
      videoGapTicks: 0,
      audioGapTicks: 0,
    })),
  };
}
