/**
 * The operator's reading of a chunked rendition's files (common/video/chunks.ts: the transcoder's
 * chunk metadata and stitch report): zod schemas of the fields the check and the playlist use,
 * lenient about extra fields, so a malformed file fails the Video with the field named (never a crash).
 */
import { z } from '../../common/config/index.js';
import { RENDITIONS, type ChunkMetadata, type StitchReport } from '../../common/video/index.js';

const int = z.number().int();
const count = z.number().int().min(0);

const segmentSchema = z.object({
  name: z.string().regex(/^[\w.-]+$/),
  extinf: z.string().regex(/^\d+(\.\d+)?$/),
  bytes: count,
  firstVideoPts: int,
  lastVideoPts: int,
  videoFrames: count,
  firstAudioPts: int.optional(),
  lastAudioPts: int.optional(),
  audioPackets: count.optional(),
});

export const chunkMetadataSchema: z.ZodType<ChunkMetadata> = z.object({
  rendition: z.enum(RENDITIONS),
  index: count,
  count: z.number().int().min(1),
  startSeconds: z.number().min(0),
  targetDuration: z.number().positive(),
  segments: z.array(segmentSchema),
  videoPtsStep: z.number().positive(),
  audioPtsStep: z.number().positive().optional(),
  ccCounts: z.record(z.string(), count),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  codecs: z.string().min(1),
  frameRate: z.number().positive(),
});

export const stitchReportSchema: z.ZodType<StitchReport> = z.object({
  rendition: z.enum(RENDITIONS),
  count: z.number().int().min(1),
  segmentsRewritten: count,
  joins: z.array(z.object({ index: count, videoGapTicks: int, audioGapTicks: int.optional() })),
});
