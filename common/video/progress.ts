/**
 * The progress contract (transcoder → operator over RabbitMQ, then the Video's status): one zod
 * schema of the message a transcoder publishes while it encodes a rendition, the per-rendition
 * progress the operator records in `status.renditions[].progress`, and the pure arithmetic both
 * sides share (ETA, the overall percent of the PROGRESS printer column).
 *
 * Progress is best effort: transient messages on a topic exchange (routing key = the Video's uid),
 * dropped when no one listens or the broker is away. Nothing waits for it and nothing depends on it:
 * a rendition is done when its Job completes, whatever its last progress said.
 */
import { z } from 'zod';
import { RENDITIONS } from './constants.js';
import type { RenditionStatus } from './types.js';

/** Default name of the progress exchange (topic). */
export const DEFAULT_PROGRESS_EXCHANGE = 'videoflix.progress';
/** AMQP `type` property of a progress message. */
export const PROGRESS_MESSAGE_TYPE = 'video.progress';

/** One progress report of one rendition's encode (routing key: the Video's uid). */
export const progressMessageSchema = z.object({
  /** The Video's uid (VIDEO_ID: the media prefix). */
  uid: z.string().min(1).max(128),
  rendition: z.enum(RENDITIONS),
  /** Encoded share of the source, 0–100. */
  percent: z.number().min(0).max(100),
  /** Media time encoded so far and the source's length (s). */
  encodedSeconds: z.number().nonnegative(),
  durationSeconds: z.number().positive(),
  /** ffmpeg's speed: media seconds encoded per wall-clock second (1.5 = 1.5× real time). */
  speed: z.number().nonnegative().optional(),
  /** Seconds until the encode is done at the current speed. */
  etaSeconds: z.number().nonnegative().optional(),
  /** When the transcoder measured it (ISO time, its own clock: informative only). */
  at: z.string().min(1).max(64),
});
export type ProgressMessage = z.output<typeof progressMessageSchema>;

/** What the operator records per running rendition (`status.renditions[].progress`). */
export const renditionProgressSchema = z.object({
  percent: z.number().min(0).max(100),
  speed: z.number().nonnegative().optional(),
  /** RFC 3339: the operator's receipt time + the transcoder's ETA (no clock skew from the Pod). */
  estimatedCompletionTime: z.string().optional(),
  /** RFC 3339: when the operator received the report. */
  updatedAt: z.string(),
});
export type RenditionProgress = z.output<typeof renditionProgressSchema>;

/**
 * Seconds left: the media time still to encode at `speed` (ffmpeg's speed is the average since the
 * encode started, so this is steady). Undefined while the speed is unknown or zero.
 */
export function etaSeconds(encodedSeconds: number, durationSeconds: number, speed: number | undefined) {
  if (!(speed && speed > 0) || !(durationSeconds > 0)) return undefined;
  return Math.max(0, (durationSeconds - Math.min(encodedSeconds, durationSeconds)) / speed);
}

/** Percent encoded, clamped into 0–100; undefined without a positive duration. */
export function percentOf(encodedSeconds: number, durationSeconds: number | undefined): number | undefined {
  if (!durationSeconds || !(durationSeconds > 0)) return undefined;
  return Math.min(100, Math.max(0, (encodedSeconds / durationSeconds) * 100));
}

/**
 * The Video's overall progress (0–100, floored) from its renditions: a finished one counts 100, a
 * running one its last reported percent (0 before the first), a pending one 0; skipped and failed
 * ones are left out. Undefined when nothing is to be encoded.
 */
export function overallPercent(renditions: readonly RenditionStatus[]): number | undefined {
  const counted = renditions.filter((r) => r.phase !== 'Skipped' && r.phase !== 'Failed');
  if (counted.length === 0) return undefined;
  const sum = counted.reduce(
    (acc, r) =>
      acc + (r.phase === 'Succeeded' ? 100 : r.phase === 'Running' ? (r.progress?.percent ?? 0) : 0),
    0,
  );
  return Math.floor(sum / counted.length);
}
