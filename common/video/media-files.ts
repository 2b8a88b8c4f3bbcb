/**
 * The JSON files the transcoder writes next to the media and the operator reads back (key layout in
 * keys.ts): `<id>/probe.json` (the thumbnail task's probe of the source) and
 * `<id>/<res>/rendition.json` (what the master playlist needs, measured from the output).
 * Owner: the transcoder (writer, which checks what it writes against these schemas). Reader: the
 * operator, which turns a file that does not match into a Failed status with the reason, never a
 * crash. Unknown fields are ignored on read (a newer writer may add some).
 */
import { z } from 'zod';
import { RENDITIONS } from './constants.js';
import type { ProbeResult, RenditionMetadata } from './types.js';

const positive = z.number().positive();
const positiveInt = z.number().int().positive();

export const renditionMetadataSchema: z.ZodType<RenditionMetadata> = z.object({
  name: z.enum(RENDITIONS),
  width: positiveInt,
  height: positiveInt,
  bandwidth: positive,
  averageBandwidth: positive,
  codecs: z.string().min(1),
  frameRate: positive,
  segmentDuration: positive,
  segmentStarts: z.array(z.number().min(0)),
  durationSeconds: z.number().min(0).optional(),
  segmentCount: z.number().int().min(0).optional(),
  hasAudio: z.boolean().optional(),
});

/** A width or height of 0 is a source without a video stream: valid here, refused by the operator. */
export const probeResultSchema: z.ZodType<ProbeResult> = z.object({
  durationSeconds: z.number().min(0),
  width: z.number().int().min(0),
  height: z.number().int().min(0),
  hasAudio: z.boolean(),
  videoCodec: z.string().optional(),
  frameRate: positive.optional(),
});

/** A file read from storage, or why it could not be used. */
export type MediaFile<T> = { ok: T } | { error: string };

/** Checks a fetched JSON file against its schema: the first problems, named by field, as the error. */
export function checkMediaFile<T>(
  schema: z.ZodType<T>,
  name: string,
  fetched: MediaFile<unknown>,
): MediaFile<T> {
  if ('error' in fetched) return fetched;
  const parsed = schema.safeParse(fetched.ok);
  if (parsed.success) return { ok: parsed.data };
  return { error: `${name} is malformed: ${describeIssues(parsed.error)}` };
}

/** Writer side: the value as it will be written, or an Error naming what does not match. */
export function assertMediaFile<T>(schema: z.ZodType<T>, name: string, value: T): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${name} would be malformed: ${describeIssues(parsed.error)}`);
  return value;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * HLS BANDWIDTH (peak segment bit rate) and AVERAGE-BANDWIDTH (total bits / total duration), in
 * bits/s, rounded up. Sizes are of the whole transport stream segment, as a player downloads it.
 */
export function measureBandwidth(segments: { bytes: number; duration: number }[]): {
  peak: number;
  average: number;
} {
  const usable = segments.filter((s) => s.duration > 0);
  if (usable.length === 0) throw new Error('no segment with a positive duration');
  const peak = Math.max(...usable.map((s) => (s.bytes * 8) / s.duration));
  const bits = usable.reduce((n, s) => n + s.bytes * 8, 0);
  const seconds = usable.reduce((n, s) => n + s.duration, 0);
  return { peak: Math.ceil(peak), average: Math.ceil(bits / seconds) };
}
