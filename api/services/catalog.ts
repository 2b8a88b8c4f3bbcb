/**
 * The catalog use cases: keeping rows in step with the Video resources (status updates from the
 * operator's messages and from the resync), the admin upload (row → source object → Video resource,
 * undone step by step when anything fails), listing and deleting.
 *
 * Row life: Uploading (API) → Pending/Processing/Ready/Failed (operator) → Deleting (delete
 * requested) → Deleted (the resource and its media are gone; kept as a tombstone so a replayed,
 * older message can never bring the video back; purged by the resync after CATALOG_TOMBSTONE_SECONDS).
 */
import { randomUUID } from 'node:crypto';
import { Op, QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import type { Logger } from '../../common/logging/index.js';
import { ANNOTATIONS, keys, LABELS, type Video } from '../../common/video/index.js';
import type { VideoClient } from '../infra/kube.js';
import type { ObjectStorage } from '../infra/storage.js';
import type { VideoListRow, VideoRow } from '../models/video.js';
import { freshness, nextPhase, rowFields, updateFromResource, type StatusUpdate } from './catalog-state.js';
import { TtlCache } from './ttl-cache.js';

export type ApplyResult = 'applied' | 'created' | 'stale' | 'duplicate' | 'deleted' | 'ignored';

export interface CatalogOptions {
  sequelize: Sequelize;
  Video: typeof VideoRow;
  storage: ObjectStorage;
  kube: VideoClient;
  logger: Logger;
  sourceBucket: string;
  mediaBucket: string;
  uploadStaleSeconds: number;
  /** Deleted rows (tombstones) older than this are purged by the resync (default 7 days). */
  tombstoneSeconds?: number;
  /**
   * How long `findReady` may answer from memory (default 5 s; 0: always read). This process drops
   * the cache on each of its own writes; a change made by another replica is seen within this time.
   */
  readyCacheMs?: number;
  /** Rows `findReady` keeps at most (default 1000). */
  readyCacheMax?: number;
  now?: () => number;
}

export interface UploadFields {
  title: string;
  description: string;
  category: string;
}

export interface ResyncResult {
  resources: number;
  applied: number;
  markedDeleted: number;
  staleUploadsRemoved: number;
  tombstonesPurged: number;
  /** Multipart uploads in the sources bucket left incomplete longer than uploadStaleSeconds. */
  incompleteUploadsAborted: number;
}

export class CatalogService {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly now: () => number;
  private readonly ready: TtlCache<number, VideoRow>;
  private rev = 0;

  constructor(readonly o: CatalogOptions) {
    this.now = o.now ?? Date.now;
    this.ready = new TtlCache({ max: o.readyCacheMax ?? 1000, ttlMs: o.readyCacheMs ?? 5000, now: this.now });
  }

  /**
   * Counts the writes this process made to the videos table (status updates, resync, uploads,
   * deletes): a cache of what the table says is current while it is unchanged (and, for other
   * replicas' writes, while `fingerprint()` is). Each write also drops the `findReady` cache.
   */
  get revision(): number {
    return this.rev;
  }

  private changed(): void {
    this.rev++;
    this.ready.clear();
  }

  /** Runs a write and counts it as a change even when it fails half-way (it may have committed). */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.changed();
    }
  }

  get namespace(): string {
    return this.o.kube.namespace;
  }

  // --- status updates ----------------------------------------------------------------------------

  /** Upserts the row of `u.uid` in one transaction; stale and duplicate news change nothing. */
  async applyUpdate(u: StatusUpdate): Promise<ApplyResult> {
    if (u.namespace !== this.namespace || !u.uid) return 'ignored';
    return this.writing(() => this.applyUpdateNow(u));
  }

  private async applyUpdateNow(u: StatusUpdate): Promise<ApplyResult> {
    const removeAfter: Array<{ bucket: string; key: string }> = [];
    const attempt = () =>
      this.o.sequelize.transaction(async (transaction) => {
        removeAfter.length = 0;
        return this.applyIn(u, transaction, removeAfter);
      });
    let result: ApplyResult;
    try {
      result = await attempt();
    } catch (err) {
      // two first messages of one new Video raced to insert its row: the loser updates instead
      if (!(err instanceof UniqueConstraintError)) throw err;
      result = await attempt();
    }
    for (const o of removeAfter) await this.removeSource(o.bucket, o.key);
    return result;
  }

  private async applyIn(
    u: StatusUpdate,
    transaction: Transaction,
    removeAfter: Array<{ bucket: string; key: string }>,
  ): Promise<ApplyResult> {
    const V = this.o.Video;
    const lock = transaction.LOCK.UPDATE;
    let row = await V.findOne({ where: { uid: u.uid }, lock, transaction });
    if (!row && u.catalogId !== undefined) {
      // the row our upload created, not linked to its resource yet
      const candidate = await V.findOne({ where: { id: u.catalogId }, lock, transaction });
      if (candidate && candidate.uid === null && candidate.phase === 'Uploading') row = candidate;
    }
    if (u.deleted) {
      if (!row || row.phase === 'Deleted') return 'ignored';
      await this.markDeleted(row, transaction, removeAfter);
      return 'deleted';
    }
    if (!row) {
      await V.create(
        { ...rowFields(u), phase: nextPhase(undefined, u), statusSequence: u.sequence ?? null },
        { transaction },
      );
      return 'created';
    }
    if (row.phase === 'Deleted') return 'stale';
    const f = freshness(row, u);
    if (f !== 'apply') return f;
    await row.update(
      {
        ...rowFields(u),
        phase: nextPhase(row.phase, u),
        statusSequence: u.sequence ?? row.statusSequence ?? null,
      },
      { transaction },
    );
    return 'applied';
  }

  private async markDeleted(
    row: VideoRow,
    transaction: Transaction,
    removeAfter: Array<{ bucket: string; key: string }>,
  ) {
    if (row.sourceBucket && row.sourceKey) removeAfter.push({ bucket: row.sourceBucket, key: row.sourceKey });
    await row.update(
      { phase: 'Deleted', masterPlaylistKey: null, thumbnailKey: null, error: null },
      { transaction },
    );
  }

  private async removeSource(bucket: string, key: string) {
    try {
      await this.o.storage.remove(bucket, key);
    } catch (err) {
      this.o.logger.warn({ bucket, key, err: (err as Error).message }, 'could not remove a source object');
    }
  }

  // --- resync ------------------------------------------------------------------------------------

  /**
   * Reads every Video of the namespace and applies what each says (rows that missed a message,
   * Videos created with kubectl); marks rows whose resource is gone as Deleted; removes uploads
   * left half-way by a crashed process.
   */
  async resync(): Promise<ResyncResult> {
    return this.writing(() => this.resyncNow());
  }

  private async resyncNow(): Promise<ResyncResult> {
    const V = this.o.Video;
    const started = new Date(this.now());
    const videos = await this.o.kube.list();
    const result: ResyncResult = {
      resources: videos.length,
      applied: 0,
      markedDeleted: 0,
      staleUploadsRemoved: 0,
      tombstonesPurged: 0,
      incompleteUploadsAborted: 0,
    };
    const live = new Set<string>();
    for (const video of videos) {
      if (!video.metadata.uid || !video.metadata.name) continue;
      live.add(video.metadata.uid);
      const r = await this.applyUpdate(updateFromResource(video));
      if (r === 'applied' || r === 'created') result.applied++;
    }
    const linked = await V.findAll({
      where: {
        namespace: this.namespace,
        uid: { [Op.ne]: null },
        phase: { [Op.ne]: 'Deleted' },
        updatedAt: { [Op.lt]: started },
      },
    });
    for (const row of linked) {
      if (live.has(row.uid!)) continue;
      const removeAfter: Array<{ bucket: string; key: string }> = [];
      const marked = await this.o.sequelize.transaction(async (transaction) => {
        const fresh = await V.findByPk(row.id, { lock: transaction.LOCK.UPDATE, transaction });
        if (!fresh || fresh.phase === 'Deleted' || fresh.updatedAt >= started) return false;
        await this.markDeleted(fresh, transaction, removeAfter);
        return true;
      });
      for (const o of removeAfter) await this.removeSource(o.bucket, o.key);
      if (marked) result.markedDeleted++;
    }
    const staleBefore = new Date(this.now() - this.o.uploadStaleSeconds * 1000);
    const stuck = await V.findAll({
      where: { phase: 'Uploading', uid: null, updatedAt: { [Op.lt]: staleBefore } },
    });
    for (const row of stuck) {
      await this.abandonUpload(row);
      result.staleUploadsRemoved++;
    }
    // a tombstone only has to outlive the redelivery of older messages about its Video
    const tombstoneBefore = new Date(this.now() - (this.o.tombstoneSeconds ?? 7 * 24 * 3600) * 1000);
    result.tombstonesPurged = await V.destroy({
      where: { phase: 'Deleted', updatedAt: { [Op.lt]: tombstoneBefore } },
    });
    result.incompleteUploadsAborted = await this.abortIncompleteUploads();
    return result;
  }

  /**
   * Aborts the multipart uploads in the sources bucket that were started more than
   * uploadStaleSeconds ago and never finished (a process that crashed mid-upload: its parts stay
   * in the store, invisible, until aborted). An upload in progress is younger than that: the
   * upload route's own timeout is shorter. A failure is logged, never fails the resync.
   */
  async abortIncompleteUploads(): Promise<number> {
    const before = new Date(this.now() - this.o.uploadStaleSeconds * 1000);
    let aborted = 0;
    try {
      for (const u of await this.o.storage.incompleteUploads(this.o.sourceBucket, before)) {
        await this.o.storage.abortUpload(this.o.sourceBucket, u.key, u.uploadId);
        this.o.logger.info({ key: u.key, initiated: u.initiated }, 'incomplete multipart upload aborted');
        aborted++;
      }
    } catch (err) {
      this.o.logger.warn(
        { err: (err as Error).message, aborted },
        'could not sweep incomplete multipart uploads; next attempt at the next resync',
      );
    }
    return aborted;
  }

  /**
   * Once at start: a lifecycle rule on the sources bucket that lets the store itself abort
   * incomplete uploads (after a day), where the store supports it and the bucket has no rules yet.
   */
  async ensureUploadLifecycle(): Promise<void> {
    const days = Math.max(1, Math.ceil(this.o.uploadStaleSeconds / 86_400));
    const outcome = await this.o.storage.ensureAbortIncompleteRule(this.o.sourceBucket, days);
    const messages = {
      set: 'lifecycle rule set: the store aborts incomplete uploads itself',
      present: 'the sources bucket already has a rule aborting incomplete uploads',
      'other-rules':
        'the sources bucket has lifecycle rules but none aborts incomplete uploads (left unchanged); the resync sweeps them',
      unsupported: 'the store takes no lifecycle rule here; the resync sweeps incomplete uploads',
    };
    this.o.logger.info({ bucket: this.o.sourceBucket, days, outcome }, messages[outcome]);
  }

  /** Runs the resync now and every `periodMs` (never two at once); errors are logged. */
  startResync(periodMs: number): void {
    const run = () => {
      if (this.running) return;
      this.running = this.resync()
        .then((r) => this.o.logger.info(r, 'catalog resync'))
        .catch((err: unknown) =>
          this.o.logger.warn(
            { err: (err as Error).message },
            'catalog resync failed; next attempt at the next period',
          ),
        )
        .finally(() => {
          this.running = undefined;
        });
    };
    run();
    this.timer = setInterval(run, periodMs);
    this.timer.unref();
  }

  async stopResync(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  // --- upload ------------------------------------------------------------------------------------

  /** Step 1: the row (Uploading) and the key its source will have. */
  async beginUpload(fields: UploadFields): Promise<VideoRow> {
    return this.writing(() =>
      this.o.Video.create({
        ...fields,
        phase: 'Uploading',
        namespace: this.namespace,
        sourceBucket: this.o.sourceBucket,
        sourceKey: keys.source(randomUUID()),
      }),
    );
  }

  /** Step 3 (after the source is stored): the Video resource, then the row linked to it. */
  async finishUpload(row: VideoRow, size: number): Promise<VideoRow> {
    return this.writing(() => this.finishUploadNow(row, size));
  }

  private async finishUploadNow(row: VideoRow, size: number): Promise<VideoRow> {
    let created: Video | undefined;
    try {
      created = await this.o.kube.create({
        metadata: {
          generateName: 'video-',
          annotations: { [ANNOTATIONS.catalogId]: String(row.id) },
          labels: { [LABELS.partOf]: 'videoflix', [LABELS.managedBy]: 'videoflix-api' },
        } as Video['metadata'],
        spec: {
          title: row.title,
          ...(row.description ? { description: row.description } : {}),
          ...(row.category ? { category: row.category } : {}),
          source: { bucket: row.sourceBucket!, key: row.sourceKey! },
        },
      });
      const { uid, name, resourceVersion } = created.metadata;
      await this.o.Video.update(
        {
          uid: uid!,
          name: name!,
          namespace: this.namespace,
          resourceVersion: resourceVersion ?? null,
          sourceSize: size,
          phase: 'Pending',
        },
        { where: { id: row.id, phase: 'Uploading' } },
      );
      const linked = await this.o.Video.findByPk(row.id);
      if (!linked || linked.uid !== uid)
        throw new Error(`catalog row ${row.id} vanished while its upload finished`);
      return linked;
    } catch (err) {
      if (created?.metadata.name) {
        await this.o.kube.delete(created.metadata.name, created.metadata.uid).catch((e: unknown) => {
          this.o.logger.error(
            { name: created?.metadata.name, err: (e as Error).message },
            'could not delete the Video of a failed upload',
          );
        });
      }
      throw err;
    }
  }

  /** Undoes an upload: the source object (a multipart upload was already aborted) and the row. */
  async abandonUpload(row: VideoRow): Promise<void> {
    return this.writing(() => this.abandonUploadNow(row));
  }

  private async abandonUploadNow(row: VideoRow): Promise<void> {
    if (row.sourceBucket && row.sourceKey) await this.removeSource(row.sourceBucket, row.sourceKey);
    try {
      const n = await this.o.Video.destroy({ where: { id: row.id, uid: null } });
      this.o.logger.info({ id: row.id, removed: n, key: row.sourceKey }, 'upload undone');
    } catch (err) {
      this.o.logger.error(
        { id: row.id, err: (err as Error).message },
        'could not remove the row of a failed upload',
      );
    }
  }

  // --- reading and deleting ----------------------------------------------------------------------

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
   * Changes whenever the videos table does, whoever wrote it (another replica too): the number of
   * rows and the latest update time. (Every write sets updated_at, a removed row lowers the count;
   * two writes in the same millisecond from two replicas could look alike: the callers bound how
   * long they trust it.)
   */
  async fingerprint(): Promise<string> {
    const [r] = await this.o.sequelize.query<{ n: string; m: Date | null }>(
      `SELECT count(*)::text AS n, max(updated_at) AS m FROM videos`,
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
    const cached = this.ready.get(id);
    if (cached) return cached;
    const rev = this.rev;
    const row = await this.o.Video.findByPk(id);
    if (!row || row.phase !== 'Ready' || !row.uid) return undefined;
    if (rev === this.rev) this.ready.set(id, row); // no write of ours happened while it was read
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
  async delete(id: number): Promise<'deleting' | 'deleted' | undefined> {
    return this.writing(() => this.deleteNow(id));
  }

  private async deleteNow(id: number): Promise<'deleting' | 'deleted' | undefined> {
    const row = await this.o.Video.findByPk(id);
    if (!row || row.phase === 'Deleted') return undefined;
    if (row.uid && row.name) {
      const existed = await this.o.kube.delete(row.name, row.uid);
      if (existed) {
        await this.o.Video.update({ phase: 'Deleting' }, { where: { id, phase: { [Op.ne]: 'Deleted' } } });
        return 'deleting';
      }
      const removeAfter: Array<{ bucket: string; key: string }> = [];
      await this.o.sequelize.transaction(async (transaction) => {
        const fresh = await this.o.Video.findByPk(id, { lock: transaction.LOCK.UPDATE, transaction });
        if (fresh && fresh.phase !== 'Deleted') await this.markDeleted(fresh, transaction, removeAfter);
      });
      for (const o of removeAfter) await this.removeSource(o.bucket, o.key);
      return 'deleted';
    }
    await this.abandonUpload(row);
    return 'deleted';
  }
}
