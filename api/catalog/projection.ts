/**
 * Pure: what the catalog learns from the operator, and whether it is news.
 *
 * Two sources describe a Video: the operator's status messages (at least once, possibly out of
 * order, possibly replayed) and the resync's reading of the resource itself. Both become a
 * `StatusUpdate`; `freshness` decides against what the row holds:
 * - resourceVersions of one object are compared as integers when both are (etcd revisions, which
 *   the API server hands out increasing): older is stale, equal is a duplicate, newer applies;
 * - otherwise a message applies when its sequence (monotonic per Video, from the operator) is
 *   higher than the row's; a resync reading applies when its resourceVersion differs;
 * - a deletion is final for that uid and always applies.
 */
import {
  catalogIdOf,
  videoStatusMessageSchema,
  type Phase,
  type RenditionStatus,
  type Video,
  type VideoStatusMessage,
} from '../../common/video/index.js';
import type { CatalogPhase } from '../models/video.js';

export interface StatusUpdate {
  source: 'message' | 'resync';
  namespace: string;
  name: string;
  uid: string;
  catalogId?: number;
  phase: Phase;
  title: string;
  description: string;
  category: string;
  renditions: RenditionStatus[];
  masterPlaylistKey?: string;
  thumbnailKey?: string;
  durationSeconds?: number;
  message?: string;
  resourceVersion: string;
  sequence?: number;
  deleted?: boolean;
  /** The resource is being deleted (deletionTimestamp set): hidden from users from now on. */
  terminating?: boolean;
}

export interface RowVersion {
  statusSequence?: string | number | null;
  resourceVersion?: string | null;
}

export type Freshness = 'apply' | 'stale' | 'duplicate';

const INTEGER = /^\d{1,30}$/;

/** -1, 0 or 1 when both are decimal integers; undefined when they cannot be compared. */
export function compareResourceVersions(
  a: string | null | undefined,
  b: string | null | undefined,
): -1 | 0 | 1 | undefined {
  if (!a || !b || !INTEGER.test(a) || !INTEGER.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function freshness(
  row: RowVersion,
  update: Pick<StatusUpdate, 'source' | 'resourceVersion' | 'sequence' | 'deleted'>,
): Freshness {
  if (update.deleted) return 'apply';
  const rowSeq =
    row.statusSequence === null || row.statusSequence === undefined ? undefined : BigInt(row.statusSequence);
  if (!row.resourceVersion && rowSeq === undefined) return 'apply';
  const byVersion = compareResourceVersions(update.resourceVersion, row.resourceVersion);
  if (byVersion !== undefined) return byVersion < 0 ? 'stale' : byVersion > 0 ? 'apply' : 'duplicate';
  if (update.source === 'message') {
    if (update.sequence === undefined) return 'stale';
    if (rowSeq === undefined) return 'apply';
    const seq = BigInt(Math.trunc(update.sequence));
    return seq > rowSeq ? 'apply' : seq === rowSeq ? 'duplicate' : 'stale';
  }
  return update.resourceVersion === row.resourceVersion ? 'duplicate' : 'apply';
}

/** The row's next phase: a delete the API asked for stays `Deleting` whatever the operator says meanwhile. */
export function nextPhase(
  current: CatalogPhase | undefined,
  update: Pick<StatusUpdate, 'phase' | 'terminating'>,
): CatalogPhase {
  return current === 'Deleting' || update.terminating ? 'Deleting' : update.phase;
}

/** Row columns an applied update sets (not the identity columns). */
export function rowFields(update: StatusUpdate) {
  return {
    namespace: update.namespace,
    name: update.name,
    uid: update.uid,
    title: update.title.slice(0, 200),
    description: update.description,
    category: update.category.slice(0, 100),
    renditions: update.renditions,
    masterPlaylistKey: update.masterPlaylistKey ?? null,
    thumbnailKey: update.thumbnailKey ?? null,
    durationSeconds: update.durationSeconds ?? null,
    error: update.phase === 'Failed' ? (update.message ?? 'processing failed') : null,
    resourceVersion: update.resourceVersion || null,
  };
}

/** The operator's message, checked with the one schema of the contract: a broker carries anything. */
export const statusMessageSchema = videoStatusMessageSchema;

/**
 * The one place a status message off the broker becomes a catalog update: the schema check, then
 * the projection. Throws, naming what is wrong, when the value is no status message (the consumer
 * dead-letters it).
 */
export function projectStatusMessage(raw: unknown): StatusUpdate {
  const result = statusMessageSchema.safeParse(raw);
  if (!result.success)
    throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return updateFromMessage(result.data as VideoStatusMessage);
}

export function updateFromMessage(msg: VideoStatusMessage): StatusUpdate {
  return {
    source: 'message',
    namespace: msg.namespace,
    name: msg.name,
    uid: msg.uid,
    ...(msg.catalogId !== undefined ? { catalogId: msg.catalogId } : {}),
    phase: msg.phase,
    title: msg.title,
    description: msg.description ?? '',
    category: msg.category ?? '',
    renditions: msg.renditions ?? [],
    ...(msg.masterPlaylistKey ? { masterPlaylistKey: msg.masterPlaylistKey } : {}),
    ...(msg.thumbnailKey ? { thumbnailKey: msg.thumbnailKey } : {}),
    ...(msg.durationSeconds !== undefined ? { durationSeconds: msg.durationSeconds } : {}),
    ...(msg.message ? { message: msg.message } : {}),
    resourceVersion: msg.resourceVersion,
    sequence: msg.sequence,
    ...(msg.deleted ? { deleted: true } : {}),
  };
}

/** What the resource says now (the resync's reading). A Video without status yet is Pending. */
export function updateFromResource(video: Video): StatusUpdate {
  const s = video.status ?? {};
  const catalogId = catalogIdOf(video);
  return {
    source: 'resync',
    namespace: video.metadata.namespace ?? '',
    name: video.metadata.name ?? '',
    uid: video.metadata.uid ?? '',
    ...(catalogId !== undefined ? { catalogId } : {}),
    phase: s.phase ?? 'Pending',
    title: video.spec.title,
    description: video.spec.description ?? '',
    category: video.spec.category ?? '',
    renditions: s.renditions ?? [],
    ...(s.masterPlaylistKey ? { masterPlaylistKey: s.masterPlaylistKey } : {}),
    ...(s.thumbnailKey ? { thumbnailKey: s.thumbnailKey } : {}),
    ...(s.source?.durationSeconds !== undefined ? { durationSeconds: s.source.durationSeconds } : {}),
    ...(s.message ? { message: s.message } : {}),
    resourceVersion: video.metadata.resourceVersion ?? '',
    ...(video.metadata.deletionTimestamp ? { terminating: true } : {}),
  };
}
