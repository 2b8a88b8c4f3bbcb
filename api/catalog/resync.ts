/**
 * The resync: reads every Video of the namespace and applies what each says (rows that missed a
 * message, Videos created with kubectl); marks rows whose resource is gone as Deleted; removes
 * uploads left half-way by a crashed process, old tombstones and incomplete multipart uploads.
 * `Resyncer` runs it now and periodically, never two at once.
 */
import { Op } from 'sequelize';
import type { VideoRow } from '../models/video.js';
import type { CatalogOptions } from './options.js';
import { updateFromResource, type StatusUpdate } from './projection.js';
import { markDeletedById, type ApplyResult } from './store.js';

export interface ResyncResult {
  resources: number;
  applied: number;
  markedDeleted: number;
  staleUploadsRemoved: number;
  tombstonesPurged: number;
  /** Multipart uploads in the sources bucket left incomplete longer than uploadStaleSeconds. */
  incompleteUploadsAborted: number;
}

/** What the resync needs from the service: its counted writes. */
export interface ResyncSteps {
  applyUpdate(u: StatusUpdate): Promise<ApplyResult>;
  abandonUpload(row: VideoRow): Promise<void>;
}

export async function resync(
  o: CatalogOptions,
  steps: ResyncSteps,
  now: () => number,
): Promise<ResyncResult> {
  const V = o.Video;
  const started = new Date(now());
  const videos = await o.kube.list();
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
    const r = await steps.applyUpdate(updateFromResource(video));
    if (r === 'applied' || r === 'created') result.applied++;
  }
  const linked = await V.findAll({
    where: {
      namespace: o.kube.namespace,
      uid: { [Op.ne]: null },
      phase: { [Op.ne]: 'Deleted' },
      updatedAt: { [Op.lt]: started },
    },
  });
  for (const row of linked) {
    if (live.has(row.uid!)) continue;
    // a row written since the listing began may belong to a Video created meanwhile
    if (await markDeletedById(o, row.id, (fresh) => fresh.updatedAt >= started)) result.markedDeleted++;
  }
  const staleBefore = new Date(now() - o.uploadStaleSeconds * 1000);
  const stuck = await V.findAll({
    where: { phase: 'Uploading', uid: null, updatedAt: { [Op.lt]: staleBefore } },
  });
  for (const row of stuck) {
    await steps.abandonUpload(row);
    result.staleUploadsRemoved++;
  }
  // a tombstone only has to outlive the redelivery of older messages about its Video
  const tombstoneBefore = new Date(now() - (o.tombstoneSeconds ?? 7 * 24 * 3600) * 1000);
  result.tombstonesPurged = await V.destroy({
    where: { phase: 'Deleted', updatedAt: { [Op.lt]: tombstoneBefore } },
  });
  result.incompleteUploadsAborted = await abortIncompleteUploads(o, now);
  return result;
}

/**
 * Aborts the multipart uploads in the sources bucket that were started more than
 * uploadStaleSeconds ago and never finished (a process that crashed mid-upload: its parts stay
 * in the store, invisible, until aborted). An upload in progress is younger than that: the
 * upload route's own timeout is shorter. A failure is logged, never fails the resync.
 */
export async function abortIncompleteUploads(o: CatalogOptions, now: () => number): Promise<number> {
  const before = new Date(now() - o.uploadStaleSeconds * 1000);
  let aborted = 0;
  try {
    for (const u of await o.storage.incompleteUploads(o.sourceBucket, before)) {
      await o.storage.abortUpload(o.sourceBucket, u.key, u.uploadId);
      o.logger.info({ key: u.key, initiated: u.initiated }, 'incomplete multipart upload aborted');
      aborted++;
    }
  } catch (err) {
    o.logger.warn(
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
export async function ensureUploadLifecycle(o: CatalogOptions): Promise<void> {
  const days = Math.max(1, Math.ceil(o.uploadStaleSeconds / 86_400));
  const outcome = await o.storage.ensureAbortIncompleteRule(o.sourceBucket, days);
  const messages = {
    set: 'lifecycle rule set: the store aborts incomplete uploads itself',
    present: 'the sources bucket already has a rule aborting incomplete uploads',
    'other-rules':
      'the sources bucket has lifecycle rules but none aborts incomplete uploads (left unchanged); the resync sweeps them',
    unsupported: 'the store takes no lifecycle rule here; the resync sweeps incomplete uploads',
  };
  o.logger.info({ bucket: o.sourceBucket, days, outcome }, messages[outcome]);
}

/** Runs a resync now and every `periodMs` (never two at once); errors are logged. */
export class Resyncer {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly run: () => Promise<ResyncResult>,
    private readonly logger: CatalogOptions['logger'],
  ) {}

  start(periodMs: number): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.run()
        .then((r) => this.logger.info(r, 'catalog resync'))
        .catch((err: unknown) =>
          this.logger.warn(
            { err: (err as Error).message },
            'catalog resync failed; next attempt at the next period',
          ),
        )
        .finally(() => {
          this.running = undefined;
        });
    };
    tick();
    this.timer = setInterval(tick, periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
