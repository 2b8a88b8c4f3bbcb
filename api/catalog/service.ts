/**
 * The catalog's use cases behind one object: status updates (store.ts), the resync (resync.ts),
 * the upload's steps (uploads.ts), the queries of the routes, retry and delete. Every write goes
 * through `writing`, which counts it (`revision`, the key of the users' list body) and drops the
 * Ready rows kept in memory for the media routes.
 */
import { Op, QueryTypes } from 'sequelize';
import { LRUCache } from 'lru-cache';
import type { VideoListRow, VideoRow } from '../models/video.js';
import type { CatalogOptions } from './options.js';
import type { StatusUpdate } from './projection.js';
import {
  abortIncompleteUploads,
  ensureUploadLifecycle,
  resync,
  Resyncer,
  type ResyncResult,
} from './resync.js';
import { applyUpdate, markDeletedById, type ApplyResult } from './store.js';
import {
  abandonUpload,
  beginUpload,
  finishResumableUpload,
  finishUpload,
  type UploadFields,
} from './uploads.js';

export type { CatalogOptions } from './options.js';
export type { ResyncResult } from './resync.js';
export type { ApplyResult } from './store.js';
export type { UploadFields } from './uploads.js';

export class CatalogService {
  private readonly now: () => number;
  /** Ready rows of the media routes (undefined when readyCacheMs is 0: always read). */
  private readonly ready?: LRUCache<number, VideoRow>;
  private readonly resyncer: Resyncer;
  private rev = 0;

  constructor(readonly o: CatalogOptions) {
    const now = o.now ?? Date.now;
    this.now = now;
    const ttl = o.readyCacheMs ?? 5000;
    if (ttl > 0)
      this.ready = new LRUCache({ max: o.readyCacheMax ?? 1000, ttl, ttlResolution: 0, perf: { now } });
    this.resyncer = new Resyncer(() => this.resync(), o.logger);
  }

  /**
   * Counts the writes this process made to the videos table (status updates, resync, uploads,
   * deletes): a cache of what the table says is current while it is unchanged (and, for other
   * replicas' writes, while `fingerprint()` is). Each write also drops the `findReady` cache.
   */
  get revision(): number {
    return this.rev;
  }

  get namespace(): string {
    return this.o.kube.namespace;
  }

  /** Runs a write and counts it as a change even when it fails half-way (it may have committed). */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.rev++;
      this.ready?.clear();
    }
  }

  /** Upserts the row of `u.uid` in one transaction; stale and duplicate news change nothing. */
  async applyUpdate(u: StatusUpdate): Promise<ApplyResult> {
    if (u.namespace !== this.namespace || !u.uid) return 'ignored';
    return this.writing(() => applyUpdate(this.o, u));
  }

  resync(): Promise<ResyncResult> {
    return this.writing(() =>
      resync(
        this.o,
        { applyUpdate: (u) => this.applyUpdate(u), abandonUpload: (r) => this.abandonUpload(r) },
        this.now,
      ),
    );
  }

  abortIncompleteUploads(): Promise<number> {
    return abortIncompleteUploads(this.o, this.now);
  }

  ensureUploadLifecycle(): Promise<void> {
    return ensureUploadLifecycle(this.o);
  }

  /** Runs the resync now and every `periodMs` (never two at once); errors are logged. */
  startResync(periodMs: number): void {
    this.resyncer.start(periodMs);
  }

  stopResync(): Promise<void> {
    return this.resyncer.stop();
  }

  beginUpload(fields: UploadFields): Promise<VideoRow> {
    return this.writing(() => beginUpload(this.o, fields));
  }

  finishUpload(row: VideoRow, size: number): Promise<VideoRow> {
    return this.writing(() => finishUpload(this.o, row, size));
  }

  /** A completed resumable upload's row and Video, created once whatever the number of calls (uploads.ts). */
  finishResumableUpload(sourceKey: string, fields: UploadFields, size: number): Promise<VideoRow> {
    return this.writing(() => finishResumableUpload(this.o, sourceKey, fields, size));
  }

  /** Source keys (in the sources bucket) of the rows created in [from, to) (the resumable uploads' clean-up). */
  async sourceKeysCreatedBetween(from: Date, to: Date): Promise<string[]> {
    const rows = await this.o.Video.findAll({
      attributes: ['sourceKey'],
      where: {
        sourceBucket: this.o.sourceBucket,
        sourceKey: { [Op.ne]: null },
        createdAt: { [Op.gte]: from, [Op.lt]: to },
      },
    });
    return rows.map((r) => r.sourceKey!);
  }

  /** The row whose source is `key` in the sources bucket (a resumable upload's, once finished). */
  async findBySource(key: string): Promise<VideoRow | undefined> {
    return (
      (await this.o.Video.findOne({ where: { sourceBucket: this.o.sourceBucket, sourceKey: key } })) ??
      undefined
    );
  }

  abandonUpload(row: VideoRow): Promise<void> {
    return this.writing(() => abandonUpload(this.o, row));
  }

  /** The users' list: Ready rows, newest first, only the fields it shows, as plain objects. */
  listReadyRows(): Promise<VideoListRow[]> {
    return this.o.Video.findAll({
      attributes: ['id', 'createdAt', 'title', 'description', 'thumbnailKey', 'category'],
      where: { phase: 'Ready' },
      order: [
        ['createdAt', 'DESC'],
        ['id', 'DESC'],
      ],
      raw: true,
    });
  }

  /**
   * Changes whenever the Ready rows do (what the users' list shows), whoever wrote them (another
   * replica too): their number and latest update time. (Every write sets updated_at, a row entering
   * or leaving Ready changes the count; two writes in the same millisecond from two replicas could
   * look alike: the callers bound how long they trust it.) Writes to rows that are not Ready (status
   * and progress of videos being processed) leave it alone.
   */
  async fingerprint(): Promise<string> {
    const [r] = await this.o.sequelize.query<{ n: string; m: Date | null }>(
      `SELECT count(*)::text AS n, max(updated_at) AS m FROM videos WHERE phase = 'Ready'`,
      { type: QueryTypes.SELECT },
    );
    return `${r?.n ?? 0}:${r?.m ? new Date(r.m).getTime() : 0}`;
  }

  listAll(): Promise<VideoRow[]> {
    return this.o.Video.findAll({
      where: { phase: { [Op.ne]: 'Deleted' } },
      order: [
        ['createdAt', 'DESC'],
        ['id', 'DESC'],
      ],
    });
  }

  /**
   * The Ready row of `id` (for the media routes, which ask for it once per playlist and segment):
   * kept in memory up to `readyCacheMs`; only Ready rows are kept, so a video becomes visible at
   * once and stops being so at once after a write of this process, within `readyCacheMs` after
   * another replica's.
   */
  async findReady(id: number): Promise<VideoRow | undefined> {
    const cached = this.ready?.get(id);
    if (cached) return cached;
    const rev = this.rev;
    const row = await this.o.Video.findByPk(id);
    if (!row || row.phase !== 'Ready' || !row.uid) return undefined;
    if (rev === this.rev) this.ready?.set(id, row); // no write of ours happened while it was read
    return row;
  }

  /** The row of `id` while it has a thumbnail and is not being deleted (the admin console's preview). */
  async findWithThumbnail(id: number): Promise<VideoRow | undefined> {
    const row = await this.o.Video.findByPk(id);
    if (!row || !row.uid || !row.thumbnailKey || row.phase === 'Deleted' || row.phase === 'Deleting')
      return undefined;
    return row;
  }

  /**
   * Asks the operator to retry a Failed video (the retry annotation on its resource: only what failed
   * runs again). 'not_failed' when it is not Failed; undefined when there is no such video.
   */
  async retry(id: number): Promise<{ annotation: string } | 'not_failed' | undefined> {
    const row = await this.o.Video.findByPk(id);
    if (!row || row.phase === 'Deleted' || row.phase === 'Deleting') return undefined;
    if (row.phase !== 'Failed' || !row.uid || !row.name) return 'not_failed';
    const annotation = await this.o.kube.requestRetry(row.name, row.uid);
    if (annotation === undefined) return undefined;
    this.o.logger.info({ id, name: row.name, annotation }, 'retry requested');
    return { annotation };
  }

  /**
   * Deletes the Video resource (the operator removes its media, then publishes `video.deleted`):
   * 'deleting' until then. A row without a resource (an upload in progress or left over) goes at
   * once: 'deleted'. undefined when there is no such video.
   */
  delete(id: number): Promise<'deleting' | 'deleted' | undefined> {
    return this.writing(() => this.deleteNow(id));
  }

  private async deleteNow(id: number): Promise<'deleting' | 'deleted' | undefined> {
    const row = await this.o.Video.findByPk(id);
    if (!row || row.phase === 'Deleted') return undefined;
    if (!row.uid || !row.name) {
      await this.abandonUpload(row);
      return 'deleted';
    }
    if (await this.o.kube.delete(row.name, row.uid)) {
      await this.o.Video.update({ phase: 'Deleting' }, { where: { id, phase: { [Op.ne]: 'Deleted' } } });
      return 'deleting';
    }
    await markDeletedById(this.o, id);
    return 'deleted';
  }
}
