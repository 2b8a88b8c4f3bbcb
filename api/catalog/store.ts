/**
 * Applying what the catalog learns about a Video (a status message or the resync's reading) to its
 * row, in one transaction: the row is created, updated, left alone (stale or duplicate news) or
 * marked Deleted (a tombstone). Row life: Uploading (API) → Pending/Processing/Ready/Failed
 * (operator) → Deleting (delete requested) → Deleted (the resource and its media are gone; kept so
 * a replayed, older message can never bring the video back; purged by the resync later).
 */
import { UniqueConstraintError, type Transaction } from 'sequelize';
import type { VideoRow } from '../models/video.js';
import type { CatalogOptions } from './options.js';
import { freshness, nextPhase, rowFields, type StatusUpdate } from './projection.js';

export type ApplyResult = 'applied' | 'created' | 'stale' | 'duplicate' | 'deleted' | 'ignored';

/** Source objects to remove once the transaction that marked their rows Deleted committed. */
export type Removals = Array<{ bucket: string; key: string }>;

/** Upserts the row of `u.uid`; two first messages of one new Video racing to insert: the loser updates. */
export async function applyUpdate(o: CatalogOptions, u: StatusUpdate): Promise<ApplyResult> {
  const removeAfter: Removals = [];
  const attempt = () =>
    o.sequelize.transaction(async (transaction) => {
      removeAfter.length = 0;
      return applyIn(o, u, transaction, removeAfter);
    });
  let result: ApplyResult;
  try {
    result = await attempt();
  } catch (err) {
    if (!(err instanceof UniqueConstraintError)) throw err;
    result = await attempt();
  }
  await removeSources(o, removeAfter);
  return result;
}

async function applyIn(
  o: CatalogOptions,
  u: StatusUpdate,
  transaction: Transaction,
  removeAfter: Removals,
): Promise<ApplyResult> {
  const V = o.Video;
  const lock = transaction.LOCK.UPDATE;
  let row = await V.findOne({ where: { uid: u.uid }, lock, transaction });
  if (!row && u.catalogId !== undefined) {
    // the row our upload created, not linked to its resource yet
    const candidate = await V.findOne({ where: { id: u.catalogId }, lock, transaction });
    if (candidate && candidate.uid === null && candidate.phase === 'Uploading') row = candidate;
  }
  if (u.deleted) {
    if (!row || row.phase === 'Deleted') return 'ignored';
    await markDeleted(row, transaction, removeAfter);
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

/** Turns a row into a tombstone (no media keys left) and notes its source object for removal. */
export async function markDeleted(row: VideoRow, transaction: Transaction, removeAfter: Removals) {
  if (row.sourceBucket && row.sourceKey) removeAfter.push({ bucket: row.sourceBucket, key: row.sourceKey });
  await row.update(
    { phase: 'Deleted', masterPlaylistKey: null, thumbnailKey: null, error: null },
    { transaction },
  );
}

/** Marks row `id` Deleted under a row lock unless `skip` says otherwise; then removes its source. */
export async function markDeletedById(
  o: CatalogOptions,
  id: number,
  skip: (fresh: VideoRow) => boolean = () => false,
): Promise<boolean> {
  const removeAfter: Removals = [];
  const marked = await o.sequelize.transaction(async (transaction) => {
    const fresh = await o.Video.findByPk(id, { lock: transaction.LOCK.UPDATE, transaction });
    if (!fresh || fresh.phase === 'Deleted' || skip(fresh)) return false;
    await markDeleted(fresh, transaction, removeAfter);
    return true;
  });
  await removeSources(o, removeAfter);
  return marked;
}

/** Removes source objects; a failure is logged (the object is orphaned, never a failed request). */
export async function removeSources(o: CatalogOptions, objects: Removals): Promise<void> {
  for (const { bucket, key } of objects) {
    try {
      await o.storage.remove(bucket, key);
    } catch (err) {
      o.logger.warn({ bucket, key, err: (err as Error).message }, 'could not remove a source object');
    }
  }
}
