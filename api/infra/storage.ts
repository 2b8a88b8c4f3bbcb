// Over 300 lines: the API's one S3 adapter: GET, ranges, uploads and aborts share the client, timeouts and error mapping.
/**
 * Object storage for the API (common/storage's minio client):
 * - `open(bucket, key)`: one GET whose response streams the object with its length, type, ETag and
 *   Last-Modified (no HEAD first; a missing object or bucket is `undefined`). Nothing here lists a
 *   bucket: every key comes from the catalog row and common/video/keys.ts.
 * - `upload(...)`: an upload of unknown length streamed from an async iterable as it arrives. One
 *   part fills while up to `partsInFlight` (2) earlier ones are sent; the part buffers are allocated
 *   once per upload and filled in place (no copy per part, no garbage growing with the size), so
 *   memory ≤ (partsInFlight + 1) × partSize whatever the size; a source smaller than one part goes
 *   up in a single PUT. Any failure (the source errors because
 *   the client went away, the size limit, S3) aborts the multipart upload, so no object and no
 *   stray parts remain. (minio's own putObject buffers up to 5 TiB / 10000 per part for unknown
 *   sizes, never aborts a failed upload and hangs when the source stream errors.)
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type { Client } from 'minio';
import {
  StorageError,
  createS3Client,
  describeStorageError,
  isNotFound,
  type StorageSettings,
} from '../../common/storage/index.js';
import { detached, requestSignal } from './request-signal.js';

export { StorageError };

export interface ByteRange {
  start: number;
  /** Inclusive; undefined: to the end. */
  end?: number;
}

export interface StoredObject {
  stream: Readable;
  /** Bytes in `stream` (the part's length when a range was read). */
  size: number;
  /** The bytes a range request got, of how many. */
  part?: { start: number; end: number; total: number };
  contentType?: string;
  etag?: string;
  lastModified?: string;
}

export class UploadTooLargeError extends Error {
  constructor(public readonly maxBytes: number) {
    super(`upload exceeds ${maxBytes} bytes`);
    this.name = 'UploadTooLargeError';
  }
}

export interface UploadOptions {
  contentType?: string;
  /** Larger sources fail with UploadTooLargeError (and leave nothing behind). */
  maxBytes: number;
}

export class ObjectStorage {
  constructor(
    readonly client: Client,
    private readonly partSize: number,
    /** Parts sent at once while the next one fills (memory: partSize × (partsInFlight + 1)). */
    private readonly partsInFlight = 2,
  ) {}

  static fromConfig(cfg: StorageSettings, partSize = 8 * 1024 * 1024, partsInFlight = 2): ObjectStorage {
    const base = new URL(cfg.S3_ENDPOINT).protocol === 'https:' ? https : http;
    return new ObjectStorage(createS3Client(cfg, { transport: abortable(base) }), partSize, partsInFlight);
  }

  /**
   * Opens an object for streaming; undefined when it (or its bucket) does not exist. With `range`
   * (first byte, optional last byte) only that part is read: `part` then says which bytes of how
   * many; a range that starts past the end is 'unsatisfiable'.
   */
  async open(
    bucket: string,
    key: string,
    range?: ByteRange,
  ): Promise<StoredObject | 'unsatisfiable' | undefined> {
    let stream: Readable;
    try {
      stream = range
        ? await this.client.getPartialObject(
            bucket,
            key,
            range.start,
            range.end === undefined ? undefined : range.end - range.start + 1,
          )
        : await this.client.getObject(bucket, key);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (range && (err as { code?: string }).code === 'InvalidRange') return 'unsatisfiable';
      throw new StorageError(`reading ${bucket}/${key}: ${describeStorageError(err)}`, { cause: err });
    }
    const headers = (stream as unknown as IncomingMessage).headers ?? {};
    let size = Number(headers['content-length']);
    if (!Number.isFinite(size)) size = (await this.client.statObject(bucket, key)).size;
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(headers['content-range'] ?? ''));
    return {
      stream,
      size,
      contentType: headers['content-type'],
      etag: headers.etag,
      lastModified: headers['last-modified'],
      ...(m ? { part: { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } } : {}),
    };
  }

  /** Size of an object (for a 416 answer's Content-Range); undefined when missing. */
  async size(bucket: string, key: string): Promise<number | undefined> {
    try {
      return (await this.client.statObject(bucket, key)).size;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new StorageError(`checking ${bucket}/${key}: ${describeStorageError(err)}`, { cause: err });
    }
  }

  /** Reads a small object whole (playlists); undefined when missing. */
  async readText(
    bucket: string,
    key: string,
    maxBytes = 1024 * 1024,
  ): Promise<{ text: string; obj: StoredObject } | undefined> {
    const obj = await this.open(bucket, key);
    if (!obj || obj === 'unsatisfiable') return undefined;
    if (obj.size > maxBytes) {
      obj.stream.destroy();
      throw new StorageError(`${bucket}/${key} is larger than ${maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of obj.stream) chunks.push(chunk as Buffer);
    return { text: Buffer.concat(chunks).toString('utf8'), obj };
  }

  /** Removes an object; a missing one is fine. Runs to its end even when the request that asked is gone. */
  async remove(bucket: string, key: string): Promise<void> {
    try {
      await detached(() => this.client.removeObject(bucket, key));
    } catch (err) {
      if (isNotFound(err)) return;
      throw new StorageError(`removing ${bucket}/${key}: ${describeStorageError(err)}`, { cause: err });
    }
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.client.statObject(bucket, key);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw new StorageError(`checking ${bucket}/${key}: ${describeStorageError(err)}`, { cause: err });
    }
  }

  /**
   * Multipart uploads in `bucket` that were started before `before` and never completed or
   * aborted (a crashed API process leaves them; their parts take space but no object shows them).
   * The one listing of a bucket in the API: the periodic resync's, never a request's.
   */
  async incompleteUploads(
    bucket: string,
    before: Date,
  ): Promise<Array<{ key: string; uploadId: string; initiated: Date }>> {
    const found: Array<{ key: string; uploadId: string; initiated: Date }> = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      let page;
      try {
        page = await this.client.listIncompleteUploadsQuery(bucket, '', keyMarker, uploadIdMarker, '');
      } catch (err) {
        throw new StorageError(`listing incomplete uploads of ${bucket}: ${describeStorageError(err)}`, {
          cause: err,
        });
      }
      for (const u of page.uploads) {
        const initiated = new Date(u.initiated);
        if (!Number.isNaN(initiated.getTime()) && initiated < before)
          found.push({ key: u.key, uploadId: u.uploadId, initiated });
      }
      if (!page.isTruncated || !page.nextKeyMarker) return found;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker;
    }
  }

  /** Aborts a multipart upload (its parts are deleted); one that is already gone is fine. */
  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await detached(() => this.client.abortMultipartUpload(bucket, key, uploadId));
    } catch (err) {
      if (isNotFound(err) || (err as { code?: string }).code === 'NoSuchUpload') return;
      throw new StorageError(`aborting an upload of ${bucket}/${key}: ${describeStorageError(err)}`, {
        cause: err,
      });
    }
  }

  /**
   * Asks the store to abort multipart uploads left incomplete for `days` itself (a lifecycle rule
   * with AbortIncompleteMultipartUpload), when the bucket has no lifecycle configuration yet (one
   * that exists is never replaced). 'unsupported': the store has no lifecycle rules (versitygw
   * 1.8 answers NotImplemented) or refuses this identity; the resync's sweep does the work then.
   */
  async ensureAbortIncompleteRule(
    bucket: string,
    days: number,
  ): Promise<'set' | 'present' | 'other-rules' | 'unsupported'> {
    let existing;
    try {
      existing = await this.client.getBucketLifecycle(bucket);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'NoSuchLifecycleConfiguration') return 'unsupported';
    }
    const rules = (existing as { Rule?: unknown } | null | undefined)?.Rule;
    if (rules) {
      const list = Array.isArray(rules) ? rules : [rules];
      return list.some((r) => (r as Record<string, unknown>)?.AbortIncompleteMultipartUpload)
        ? 'present'
        : 'other-rules';
    }
    try {
      await this.client.setBucketLifecycle(bucket, {
        Rule: [
          {
            ID: 'videoflix-abort-incomplete-uploads',
            Status: 'Enabled',
            Filter: { Prefix: '' },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: days },
          },
        ],
      });
      return 'set';
    } catch {
      return 'unsupported';
    }
  }

  /** Streams `source` to `bucket/key`; resolves with the size once the object exists. */
  async upload(
    bucket: string,
    key: string,
    source: AsyncIterable<Buffer>,
    opts: UploadOptions,
  ): Promise<{ size: number }> {
    const headers: Record<string, string> = {
      'Content-Type': opts.contentType ?? 'application/octet-stream',
    };
    const parts: Array<{ part: number; etag: string }> = [];
    const inFlight: Array<Promise<void>> = [];
    /** Part buffers no part in flight uses any more: filled again in place, never reallocated. */
    const free: Buffer[] = [];
    const take = () => free.pop() ?? Buffer.allocUnsafe(this.partSize);
    let uploadId: string | undefined;
    let current = take();
    let filled = 0;
    let total = 0;
    let partNumber = 0;
    /** The first part that failed: no later part is started and the upload is never completed. */
    let failure: { err: unknown } | undefined;

    /** Waits until fewer than `partsInFlight` parts are in flight, then starts sending `buf[0, length)`. */
    const sendPart = async (buf: Buffer, length: number) => {
      while (inFlight.length >= this.partsInFlight) await inFlight[0];
      if (failure) throw failure.err;
      const part = ++partNumber;
      const sending: Promise<void> = this.client
        .uploadPart(
          {
            bucketName: bucket,
            objectName: key,
            uploadID: uploadId!,
            partNumber: part,
            headers: { 'Content-Length': length },
          },
          buf.subarray(0, length),
        )
        .then(
          (res) => {
            parts.push({ part, etag: res.etag });
            free.push(buf); // sent: its bytes may be overwritten now
          },
          (err: unknown) => {
            failure ??= { err };
          },
        )
        .finally(() => inFlight.splice(inFlight.indexOf(sending), 1));
      inFlight.push(sending);
    };

    try {
      for await (const chunk of source) {
        total += chunk.length;
        if (total > opts.maxBytes) throw new UploadTooLargeError(opts.maxBytes);
        let offset = 0;
        while (offset < chunk.length) {
          const n = chunk.copy(current, filled, offset);
          filled += n;
          offset += n;
          if (filled === this.partSize) {
            uploadId ??= await this.client.initiateNewMultipartUpload(bucket, key, headers);
            await sendPart(current, filled);
            current = take();
            filled = 0;
          }
        }
      }
      if (uploadId === undefined) {
        await this.client.putObject(bucket, key, current.subarray(0, filled), filled, headers);
        return { size: total };
      }
      if (filled > 0) await sendPart(current, filled);
      while (inFlight.length > 0) await inFlight[0];
      if (failure) throw failure.err;
      parts.sort((a, b) => a.part - b.part);
      await this.client.completeMultipartUpload(bucket, key, uploadId, parts);
      return { size: total };
    } catch (err) {
      await Promise.allSettled(inFlight);
      if (uploadId !== undefined) {
        await this.abortUpload(bucket, key, uploadId).catch(() => undefined);
      }
      if (err instanceof UploadTooLargeError) throw err;
      if (isS3Failure(err))
        throw new StorageError(`uploading ${bucket}/${key}: ${describeStorageError(err)}`, { cause: err });
      throw err;
    }
  }
}

/**
 * The S3 client's transport with the current request's AbortSignal (infra/request-signal.ts) added
 * to every HTTP request: a request that times out, or whose client left, closes its S3 sockets
 * instead of leaving them waiting on a stalled store.
 */
function abortable(base: typeof http | typeof https): Pick<typeof http, 'request'> {
  const request = (options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
    const signal = requestSignal();
    return base.request(signal ? { ...options, signal } : options, callback);
  };
  return { request: request as typeof http.request };
}

/** Errors that came from the storage side (as opposed to the source stream failing). */
function isS3Failure(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  const code = (err as { code?: string })?.code ?? '';
  return (
    name === 'S3Error' || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)
  );
}
