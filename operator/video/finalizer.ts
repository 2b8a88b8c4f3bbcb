/**
 * Clean-up on deletion: the operator removes what it produced, i.e. every object under `<uid>/` in
 * the media bucket (playlists, segments, rendition.json, probe.json, thumbnail), then its finalizer.
 *
 * The source object is NOT removed by default: the API uploaded it and owns its lifecycle, and a
 * Video applied with kubectl may point at a source someone else still needs. With
 * DELETE_SOURCE_ON_DELETE=true the operator also removes it, and only when it lies in the
 * configured sources bucket.
 */
import type { Client } from 'minio';
import { keys } from '../../common/video/index.js';

const UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function list(client: Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  const stream = client.listObjectsV2(bucket, prefix, true);
  for await (const item of stream as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
  return names;
}

/** Removes every object under `<uid>/`; returns how many were removed. Refuses a malformed uid. */
export async function removeMedia(client: Client, bucket: string, uid: string): Promise<number> {
  if (!UID.test(uid))
    throw new Error(`refusing to clean up a prefix that is not a uid: ${JSON.stringify(uid)}`);
  const prefix = keys.prefix(uid);
  if (!(await client.bucketExists(bucket))) return 0;
  let removed = 0;
  for (let round = 0; round < 20; round++) {
    const names = await list(client, bucket, prefix);
    if (names.length === 0) return removed;
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      const res = await client.removeObjects(bucket, batch);
      const errors = (res as Array<{ Error?: { Code?: string; Message?: string } }>).filter((r) => r?.Error);
      if (errors.length)
        throw new Error(
          `removing ${errors.length} objects failed: ${errors[0]?.Error?.Message ?? errors[0]?.Error?.Code}`,
        );
      removed += batch.length;
    }
  }
  throw new Error(`objects keep appearing under ${prefix}`);
}

export async function removeSource(client: Client, bucket: string, key: string): Promise<void> {
  try {
    await client.removeObject(bucket, key);
  } catch (err) {
    if ((err as { code?: string }).code !== 'NoSuchKey') throw err;
  }
}
