/**
 * Object storage for the transcoder: the minio client built from common/config's storage settings,
 * the source handed to ffmpeg as a presigned GET URL (ffmpeg reads it with range requests; nothing
 * is copied into memory or onto disk), and uploads of the produced files with their content types.
 */
import type { Client } from 'minio';
import { createReadStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  CONNECT_RETRY_DELAYS_MS,
  CONTENT_TYPES,
  contentTypeFor,
  createS3Client,
  describeStorageError,
  isNotFound,
  type StorageSettings,
  withConnectRetry,
} from '../common/storage/index.js';
import { badInput, storageError, TranscoderError } from './errors.js';

export { CONTENT_TYPES, contentTypeFor, describeStorageError, type StorageSettings };

/** Presigned URLs must outlive the longest encode (the Job's activeDeadlineSeconds is far below this). */
export const PRESIGN_SECONDS = 6 * 3600;

export { CONNECT_RETRY_DELAYS_MS };

export function createClient(cfg: StorageSettings): Client {
  return createS3Client(cfg);
}

export class Storage {
  constructor(
    private readonly client: Client,
    private readonly endpoint: string,
  ) {}

  static fromConfig(cfg: StorageSettings): Storage {
    return new Storage(createClient(cfg), cfg.S3_ENDPOINT);
  }

  /**
   * Checks the source exists and we may read it. A missing object or bucket is bad input (the
   * Video points at nothing); refused credentials or an unreachable server are storage errors.
   */
  async statSource(bucket: string, key: string): Promise<{ size: number }> {
    try {
      const st = await this.client.statObject(bucket, key);
      if (st.size === 0) throw badInput(`source unreadable: ${bucket}/${key} is empty`);
      return { size: st.size };
    } catch (err) {
      if (err instanceof TranscoderError) throw err;
      if (isNotFound(err)) {
        throw badInput(`source unreadable: ${bucket}/${key} not found`, err);
      }
      throw storageError(`reading ${bucket}/${key} at ${this.endpoint}: ${describeStorageError(err)}`, err);
    }
  }

  async presignedGetUrl(bucket: string, key: string, seconds = PRESIGN_SECONDS): Promise<string> {
    try {
      return await this.client.presignedGetObject(bucket, key, seconds);
    } catch (err) {
      throw storageError(`presigning ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  /**
   * Fails early (before a long encode) when the media bucket is missing or refuses us. The Job's first
   * contact with the S3 server: a connection refused or unreachable is retried for a while (a new Pod's
   * first packets can be rejected until the NetworkPolicy enforcer has added the Pod's address: seen
   * with kube-router on kind), then is a storage error.
   */
  async checkBucket(bucket: string, delaysMs: readonly number[] = CONNECT_RETRY_DELAYS_MS): Promise<void> {
    let exists: boolean;
    try {
      exists = await withConnectRetry(() => this.client.bucketExists(bucket), delaysMs);
    } catch (err) {
      throw storageError(`checking bucket ${bucket} at ${this.endpoint}: ${describeStorageError(err)}`, err);
    }
    if (!exists) throw storageError(`bucket ${bucket} does not exist at ${this.endpoint}`);
  }

  async uploadFile(
    bucket: string,
    key: string,
    file: string,
    contentType = contentTypeFor(file),
  ): Promise<void> {
    try {
      const { size } = await stat(file);
      await this.client.putObject(bucket, key, createReadStream(file), size, { 'Content-Type': contentType });
    } catch (err) {
      throw storageError(`uploading ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    try {
      const body = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
      await this.client.putObject(bucket, key, body, body.length, {
        'Content-Type': CONTENT_TYPES['.json']!,
      });
    } catch (err) {
      throw storageError(`uploading ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  /** Downloads an object to a local file; undefined when it does not exist. */
  async downloadFile(bucket: string, key: string, file: string): Promise<boolean> {
    try {
      await this.client.fGetObject(bucket, key, file);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw storageError(`downloading ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  /** A JSON object, parsed; undefined when it does not exist. */
  async getJson(bucket: string, key: string): Promise<unknown> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of await this.client.getObject(bucket, key)) chunks.push(c as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (err instanceof SyntaxError) throw new TranscoderError('internal', `${bucket}/${key} is not JSON`);
      throw storageError(`reading ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  /** Streams an object's bytes to `onPiece` (nothing kept). */
  async read(bucket: string, key: string, onPiece: (piece: Buffer) => void): Promise<void> {
    try {
      for await (const piece of await this.client.getObject(bucket, key)) onPiece(piece as Buffer);
    } catch (err) {
      if (err instanceof TranscoderError) throw err;
      throw storageError(`reading ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  /**
   * Streams an object through `transform` back to the same key (same size: the transform must keep
   * the length). Memory stays at the stream's buffers, whatever the object's size.
   */
  async rewrite(bucket: string, key: string, size: number, transform: Transform): Promise<void> {
    try {
      const source = await this.client.getObject(bucket, key);
      source.on('error', (err) => transform.destroy(err));
      await this.client.putObject(bucket, key, source.pipe(transform), size, {
        'Content-Type': contentTypeFor(key),
      });
    } catch (err) {
      if (err instanceof TranscoderError) throw err;
      throw storageError(`rewriting ${bucket}/${key}: ${describeStorageError(err)}`, err);
    }
  }

  /**
   * Uploads every file of `dir` (not recursive) under `prefix`. Files whose names are in `last` go
   * after all others, in that order: a reader that sees the playlist finds its segments, and
   * rendition.json (written last) marks the rendition complete.
   */
  async uploadDirectory(
    dir: string,
    bucket: string,
    prefix: string,
    opts: { last?: string[]; concurrency?: number } = {},
  ): Promise<string[]> {
    const last = opts.last ?? [];
    const entries = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
    const first = entries.filter((n) => !last.includes(n)).sort();
    const tail = last.filter((n) => entries.includes(n));
    const keyOf = (n: string) => `${prefix}${n}`;
    await pool(first, opts.concurrency ?? 4, (n) => this.uploadFile(bucket, keyOf(n), path.join(dir, n)));
    for (const n of tail) await this.uploadFile(bucket, keyOf(n), path.join(dir, n));
    return [...first, ...tail].map(keyOf);
  }
}

/**
 * Runs `fn` over `items`, at most `size` at a time. After a failure no new item starts; it rejects
 * with the first failure once the running ones have settled (nothing is left running behind it).
 */
export async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  if (failure) throw failure.err;
}
