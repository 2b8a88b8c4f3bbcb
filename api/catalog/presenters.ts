/** Catalog rows → JSON: the original contract for users, a fuller view for admins. */
import type { RenditionProgress } from '../../common/video/index.js';
import type { VideoListRow, VideoRow } from '../models/video.js';

/** The original list item, exactly: id, created_at, title, description, thumbnail_url, category. */
export interface VideoListItem {
  id: number;
  created_at: string;
  title: string;
  description: string;
  thumbnail_url: string | null;
  category: string;
}

/** Signs the query of a thumbnail URL (api/security/media-urls.ts); absent: the URL needs the cookie. */
export type SignThumbnail = (id: number) => string;

/** Absolute URL of a video's thumbnail route: works with the cookie, and with its signature alone. */
export function thumbnailUrl(
  publicApiUrl: string,
  row: Pick<VideoRow, 'id' | 'thumbnailKey'>,
  sign?: SignThumbnail,
): string | null {
  if (!row.thumbnailKey) return null;
  const url = `${publicApiUrl.replace(/\/+$/, '')}/api/video/${row.id}/thumbnail.jpg`;
  return sign ? `${url}?${sign(row.id)}` : url;
}

export function presentVideo(row: VideoListRow, publicApiUrl: string, sign?: SignThumbnail): VideoListItem {
  return {
    id: row.id,
    created_at: row.createdAt.toISOString(),
    title: row.title,
    description: row.description,
    thumbnail_url: thumbnailUrl(publicApiUrl, row, sign),
    category: row.category,
  };
}

/** The original's processing_status words. */
export function statusWord(phase: VideoRow['phase']): string {
  return phase.toLowerCase();
}

/**
 * A running rendition's progress for the admin console: the operator's last record of the transcoder's
 * report (common/video/progress.ts), with the seconds left by `now`.
 */
export function presentProgress(p: RenditionProgress | undefined, now: Date) {
  if (!p) return undefined;
  const eta = p.estimatedCompletionTime ? Date.parse(p.estimatedCompletionTime) : NaN;
  return {
    percent: p.percent,
    speed: p.speed ?? null,
    eta_seconds: Number.isFinite(eta) ? Math.max(0, Math.round((eta - now.getTime()) / 1000)) : null,
    estimated_completion: Number.isFinite(eta) ? p.estimatedCompletionTime! : null,
    updated_at: p.updatedAt,
  };
}

export function presentAdminVideo(
  row: VideoRow,
  publicApiUrl: string,
  sign?: SignThumbnail,
  now: Date = new Date(),
) {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    category: row.category,
    status: statusWord(row.phase),
    phase: row.phase,
    renditions: (row.renditions ?? []).map((r) => {
      const progress = r.phase === 'Running' ? presentProgress(r.progress, now) : undefined;
      return {
        name: r.name,
        phase: r.phase,
        ...(r.message ? { message: r.message } : {}),
        ...(progress ? { progress } : {}),
      };
    }),
    error: row.error ?? null,
    duration_seconds: row.durationSeconds ?? null,
    source_size: row.sourceSize === null || row.sourceSize === undefined ? null : Number(row.sourceSize),
    resource: row.uid ? { namespace: row.namespace, name: row.name, uid: row.uid } : null,
    thumbnail_url: thumbnailUrl(publicApiUrl, row, sign),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
