/**
 * @tus/s3-store's S3Store with the upload's offset kept true when parts land out of order.
 *
 * The store sends up to `maxConcurrentPartUploads` parts of a PATCH at once. When one fails, or
 * the process dies (a Pod killed mid-PATCH), a later part may be on S3 while an earlier one is
 * not. Upstream then sums every listed part into the offset and numbers the next part after the
 * last one listed: the resumed bytes land after the orphan, so the object has the file's size
 * and the wrong content (tus/tus-node-server#505; a clean-clone CI run caught it in
 * test/integration/api/catalog/resumable-upload.test.ts). Three rules close it:
 *
 * 1. Every part but the last is exactly the upload's part size (`minPartSize` = `partSize`; the
 *    config keeps UPLOAD_MAX_BYTES within 10,000 such parts, so the store never grows it). A
 *    PATCH's short tail goes to the incomplete-part object and is prepended to the next PATCH, so
 *    part n always holds bytes [(n−1)·P, n·P) of the file.
 * 2. The parts that count are the run 1, 2, … k with no gap. Parts past a gap are orphans: the
 *    next PATCH writes k+1 onwards over them (S3 keeps the latest upload of a part number) and the
 *    completion lists only the run, so S3 drops the rest. By rule 1 an orphan holds the same bytes
 *    as the part that replaces it. (A short part inside the run can only come from an upload begun
 *    before this store, when a PATCH's tail of 5 MiB or more became a part: it is kept, else that
 *    upload could never get past it.)
 * 3. A PATCH's tail is stored as the incomplete part only after every part before it in that
 *    PATCH is on S3, so the incomplete part always continues the run; if one of them failed the
 *    tail is dropped and the client sends it again from the offset a HEAD reports.
 *
 * Whatever a crash leaves, the offset a HEAD reports is then a prefix of the file that S3 holds
 * intact; tus clients resume from it.
 */
import type { Readable } from 'node:stream';
import { S3Store, type MetadataValue, type Options } from '@tus/s3-store';

/** Options as S3Store's, with `minPartSize` set from `partSize` (rule 1). */
export type OrderedS3StoreOptions = Omit<Options, 'minPartSize'> & { partSize: number };

/** The gap-free run of parts from part 1, of a list sorted by part number (rule 2). */
export function consecutiveParts<P extends { PartNumber?: number }>(parts: readonly P[]): P[] {
  let k = 0;
  while (k < parts.length && parts[k]!.PartNumber === k + 1) k++;
  return parts.slice(0, k);
}

export class OrderedS3Store extends S3Store {
  /** The part uploads of the PATCH running for each upload id (one at a time per id: the locker). */
  private readonly writing = new Map<string, Promise<string>[]>();

  constructor(options: OrderedS3StoreOptions) {
    super({ ...options, minPartSize: options.partSize });
  }

  protected override async retrieveParts(id: string, partNumberMarker?: string) {
    const parts = await super.retrieveParts(id, partNumberMarker);
    // the first call gets the whole list, sorted (the store pages through it by calling this again)
    return partNumberMarker === undefined ? consecutiveParts(parts) : parts;
  }

  protected override async uploadParts(
    metadata: MetadataValue,
    readStream: Readable,
    currentPartNumber: number,
    offset: number,
  ): Promise<number> {
    const id = metadata.file.id;
    this.writing.set(id, []);
    try {
      return await super.uploadParts(metadata, readStream, currentPartNumber, offset);
    } finally {
      this.writing.delete(id);
    }
  }

  protected override uploadPart(
    metadata: MetadataValue,
    readStream: Parameters<S3Store['uploadPart']>[1],
    partNumber: number,
  ): Promise<string> {
    const sent = super.uploadPart(metadata, readStream, partNumber);
    this.writing.get(metadata.file.id)?.push(sent);
    return sent;
  }

  protected override async uploadIncompletePart(id: string, readStream: Readable): Promise<string> {
    const before = this.writing.get(id) ?? [];
    try {
      await Promise.all(before);
    } catch (err) {
      readStream.destroy();
      throw err;
    }
    return super.uploadIncompletePart(id, readStream);
  }
}
