/**
 * The status message contract (operator → API over RabbitMQ): one zod schema that the API's
 * consumer parses with, one `toStatusMessage` that the operator's publisher builds with, and the one
 * reader of the catalog-id annotation. The wire format is fixed: messages may wait in the outbox or
 * the queue across an upgrade, so keys, their order and their meaning do not change.
 */
import { z } from 'zod';
import { ANNOTATIONS, PHASES, RENDITIONS } from './constants.js';
import { renditionProgressSchema } from './progress.js';
import type { Video, VideoStatus } from './types.js';

export const renditionStatusSchema = z.object({
  name: z.enum(RENDITIONS),
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped']),
  job: z.string().optional(),
  message: z.string().optional(),
  playlistKey: z.string().optional(),
  /** While Running: the last progress the operator recorded (added after v1; older readers drop it). */
  progress: renditionProgressSchema.optional(),
  /** A chunked rendition's chunks done/total (issue 24; older readers drop it). */
  chunks: z.object({ done: z.number().int().nonnegative(), total: z.number().int().positive() }).optional(),
});

/**
 * Message on the status exchange (routing key `statusRoutingKey(phase)`, i.e. `video.<phase>` in
 * lower case, or `video.deleted` once the Video and its media are gone). A broker carries anything:
 * the consumer parses every message with this schema.
 */
export const videoStatusMessageSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().min(1),
  /** The catalog row this Video belongs to (its catalog-id annotation), when it has one. */
  catalogId: z.number().int().positive().optional(),
  generation: z.number().int().nonnegative(),
  resourceVersion: z.string(),
  phase: z.enum(PHASES),
  title: z.string(),
  description: z.string().default(''),
  category: z.string().default(''),
  masterPlaylistKey: z.string().optional(),
  thumbnailKey: z.string().optional(),
  durationSeconds: z.number().nonnegative().optional(),
  renditions: z.array(renditionStatusSchema).default([]),
  message: z.string().optional(),
  /** When the operator observed this phase (ISO time). */
  observedAt: z.string(),
  /** Monotonic per Video: newer messages have a higher sequence. */
  sequence: z.number().nonnegative(),
  /** True on the last message of a Video: it was deleted and its media removed (`video.deleted`). */
  deleted: z.boolean().optional(),
});

export type VideoStatusMessage = z.output<typeof videoStatusMessageSchema>;

/**
 * The catalog id a Video carries in its catalog-id annotation (set by the API when it created the
 * Video): a positive decimal integer, or undefined (absent, empty, not a number, zero, too long).
 */
export function catalogIdOf(video: Pick<Video, 'metadata'>): number | undefined {
  const raw = video.metadata.annotations?.[ANNOTATIONS.catalogId];
  if (!raw || !/^\d{1,9}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id > 0 ? id : undefined;
}

export interface StatusMessageOptions {
  /** The status to report (default: the Video's own). */
  status?: VideoStatus;
  sequence: number;
  /** Default: now. */
  observedAt?: Date;
  /** The Video and its media are gone (the last message, routing key `video.deleted`). */
  deleted?: boolean;
}

/** The message that reports `video`'s status; keys in wire order, absent fields left out. */
export function toStatusMessage(video: Video, o: StatusMessageOptions): VideoStatusMessage {
  const status = o.status ?? video.status ?? {};
  const catalogId = catalogIdOf(video);
  return {
    namespace: video.metadata.namespace ?? '',
    name: video.metadata.name ?? '',
    uid: video.metadata.uid ?? '',
    ...(catalogId !== undefined ? { catalogId } : {}),
    generation: video.metadata.generation ?? 0,
    resourceVersion: video.metadata.resourceVersion ?? '',
    phase: status.phase ?? 'Pending',
    title: video.spec.title,
    description: video.spec.description ?? '',
    category: video.spec.category ?? '',
    ...(status.masterPlaylistKey ? { masterPlaylistKey: status.masterPlaylistKey } : {}),
    ...(status.thumbnailKey ? { thumbnailKey: status.thumbnailKey } : {}),
    ...(status.source?.durationSeconds !== undefined
      ? { durationSeconds: status.source.durationSeconds }
      : {}),
    renditions: status.renditions ?? [],
    ...(status.message ? { message: status.message } : {}),
    observedAt: (o.observedAt ?? new Date()).toISOString(),
    sequence: o.sequence,
    ...(o.deleted ? { deleted: true } : {}),
  };
}
