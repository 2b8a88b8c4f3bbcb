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
