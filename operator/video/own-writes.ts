/**
 * Read-your-writes: the Video as this replica's own last write returned it, until the watch delivers
 * that very version. resourceVersions are opaque (compared for equality only, never ordered):
 *  - the watch delivers the version a write returned → the cache has caught up, the entry goes;
 *  - the cache shows another version meanwhile: either an older event still on its way, or a newer
 *    change by someone else. Only the generation is ordered: a higher one in the cache wins; otherwise
 *    the own write is used, and if it was in fact older, the next write meets a 409 Conflict and the
 *    pass runs again on a fresh GET (which replaces the entry). An entry also expires after `ttlMs`.
 */
import type { Video } from '../../common/video/index.js';
import { objectKey, stripManagedFields } from '../runtime/informer.js';

export const WRITTEN_TTL_MS = 30_000;

export class OwnWrites {
  private readonly written = new Map<string, { video: Video; at: number }>();

  constructor(
    private readonly ttlMs = WRITTEN_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keeps the object an own write returned (trimmed like the cache) and returns it. */
  remember(video: Video): Video {
    stripManagedFields(video);
    this.written.set(objectKey(video), { video, at: this.now() });
    return video;
  }

  /** The watch delivered `video`: an own write it matches is no longer needed. */
  observed(video: Video): void {
    const key = objectKey(video);
    if (this.written.get(key)?.video.metadata.resourceVersion === video.metadata.resourceVersion)
      this.written.delete(key);
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  /** The newest Video this replica knows of: `cached`, unless an own write stands in for it. */
  latest(key: string, cached: Video | undefined): Video | undefined {
    const mine = this.written.get(key);
    if (!cached || !mine) {
      this.written.delete(key);
      return cached;
    }
    const m = mine.video.metadata;
    const c = cached.metadata;
    const stands =
      m.uid === c.uid &&
      this.now() - mine.at < this.ttlMs &&
      m.resourceVersion !== c.resourceVersion &&
      (c.generation ?? 0) <= (m.generation ?? 0);
    if (stands) return mine.video;
    this.written.delete(key);
    return cached;
  }

  get size(): number {
    return this.written.size;
  }
}
