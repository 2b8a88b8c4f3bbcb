/**
 * The admin upload's steps on the catalog side: the row (Uploading) and its source key, then the
 * Video resource and the row linked to it, or everything undone when a step failed.
 */
import { randomUUID } from 'node:crypto';
import { ANNOTATIONS, keys, LABELS, type Video } from '../../common/video/index.js';
import type { VideoRow } from '../models/video.js';
import type { CatalogOptions } from './options.js';
import { removeSources } from './store.js';

export interface UploadFields {
  title: string;
  description: string;
  category: string;
}

/** Step 1: the row (Uploading) and the key its source will have. */
export function beginUpload(o: CatalogOptions, fields: UploadFields): Promise<VideoRow> {
  return o.Video.create({
    ...fields,
    phase: 'Uploading',
    namespace: o.kube.namespace,
    sourceBucket: o.sourceBucket,
    sourceKey: keys.source(randomUUID()),
  });
}

/** Step 3 (after the source is stored): the Video resource, then the row linked to it. */
export async function finishUpload(o: CatalogOptions, row: VideoRow, size: number): Promise<VideoRow> {
  let created: Video | undefined;
  try {
    created = await o.kube.create({
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
    await o.Video.update(
      {
        uid: uid!,
        name: name!,
        namespace: o.kube.namespace,
        resourceVersion: resourceVersion ?? null,
        sourceSize: size,
        phase: 'Pending',
      },
      { where: { id: row.id, phase: 'Uploading' } },
    );
    const linked = await o.Video.findByPk(row.id);
    if (!linked || linked.uid !== uid)
      throw new Error(`catalog row ${row.id} vanished while its upload finished`);
    return linked;
  } catch (err) {
    if (created?.metadata.name) {
      await o.kube.delete(created.metadata.name, created.metadata.uid).catch((e: unknown) => {
        o.logger.error(
          { name: created?.metadata.name, err: (e as Error).message },
          'could not delete the Video of a failed upload',
        );
      });
    }
    throw err;
  }
}

/** Undoes an upload: the source object (a multipart upload was already aborted) and the row. */
export async function abandonUpload(o: CatalogOptions, row: VideoRow): Promise<void> {
  if (row.sourceBucket && row.sourceKey)
    await removeSources(o, [{ bucket: row.sourceBucket, key: row.sourceKey }]);
  try {
    const n = await o.Video.destroy({ where: { id: row.id, uid: null } });
    o.logger.info({ id: row.id, removed: n, key: row.sourceKey }, 'upload undone');
  } catch (err) {
    o.logger.error(
      { id: row.id, err: (err as Error).message },
      'could not remove the row of a failed upload',
    );
  }
}

/**
 * A resumable upload's last step (tus, routes/resumable.ts): its source is stored at `sourceKey`
 * (the key is the tus upload id, so the row is keyed on it). Idempotent and safe across replicas:
 * under a PostgreSQL advisory lock on the key, an existing linked row is answered again; an
 * `Uploading` row of an earlier failed attempt is finished; otherwise the row is made, then the
 * Video resource and the link (finishUpload). A failure leaves the source in place (the upload is
 * complete: the client's next HEAD or PATCH tries again; the resync removes a row left Uploading).
 */
export async function finishResumableUpload(
  o: CatalogOptions,
  sourceKey: string,
  fields: UploadFields,
  size: number,
): Promise<VideoRow> {
  return o.sequelize.transaction(async (transaction) => {
    await o.sequelize.query('SELECT pg_advisory_xact_lock(hashtext(:key))', {
      replacements: { key: `videoflix.resumable:${o.sourceBucket}/${sourceKey}` },
      transaction,
    });
    const existing = await o.Video.findOne({
      where: { sourceBucket: o.sourceBucket, sourceKey },
      order: [['id', 'ASC']],
    });
    if (existing && existing.phase !== 'Uploading') return existing;
    const row =
      existing ??
      (await o.Video.create({
        ...fields,
        phase: 'Uploading',
        namespace: o.kube.namespace,
        sourceBucket: o.sourceBucket,
        sourceKey,
      }));
    return finishUpload(o, row, size);
  });
}
