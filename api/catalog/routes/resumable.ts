/**
 * Resumable admin uploads (issue 25): the tus 1.0 protocol (@tus/server with @tus/s3-store) at
 * `/api/admin/uploads/`, beside the multipart route (routes/upload.ts), with its rules:
 *
 * - staff only (the same passport-jwt cookie auth) and the app's CSRF check (Origin/Referer on
 *   POST, PATCH, DELETE: app.ts mounts it before every router);
 * - POST: `Upload-Length` required (no deferred length) and at most UPLOAD_MAX_BYTES (413);
 *   `Upload-Metadata` title, description, category validated by the multipart form's schema, plus
 *   an optional filename and filetype (400 with field errors);
 * - the first PATCH (offset 0): its first bytes are sniffed (sniff.ts) before anything is stored;
 *   no video → 415 and the upload removed (multipart aborted, .info deleted);
 * - the tus upload id is the source key (`keys.source(<uuid>)`, so `<uuid>/source` in the sources
 *   bucket, its state in `<uuid>/source.info` and a short last part in `<uuid>/source.part`); the
 *   URL carries the uuid only;
 * - completion (the last PATCH, or a HEAD that finds the upload complete: a client whose last
 *   answer was lost, a finish that failed, another replica) creates the row and the Video once
 *   (CatalogService.finishResumableUpload: advisory lock, keyed on the source key) and answers
 *   its id in the `Videoflix-Video-Id` header;
 * - constant memory: the S3 store spools each part (UPLOAD_PART_BYTES) to /tmp and sends at most
 *   UPLOAD_RESUMABLE_CONCURRENT_PARTS at once per process; every part but the last is exactly
 *   UPLOAD_PART_BYTES and the offset counts only the gap-free run of parts from part 1, so a part
 *   that failed or a process killed mid-PATCH never leaves a later part in the file
 *   (resumable-store.ts);
 * - expiry (the tus expiration extension): UPLOAD_RESUMABLE_EXPIRY_SECONDS after creation the
 *   upload answers 410; `cleanup()` (every UPLOAD_RESUMABLE_CLEANUP_SECONDS, on every replica:
 *   idempotent) aborts expired multipart uploads and removes their .info/.part objects, and removes
 *   the .info of completed uploads past the expiry (kept until then, so a client whose last answer
 *   was lost still finds its upload complete instead of starting it again). The API may not list
 *   objects (common/grants): those keys come from the catalog rows. A completed upload whose Video
 *   could never be created and whose client never came back keeps its source and .info (no row
 *   names them): the sources bucket's lifecycle or an operator removes them.
 *
 * Locking: @tus/server's MemoryLocker serialises the requests of one upload within a process. The
 * upload's state lives in S3 (offset = the parts listed), so any replica, or a restarted Pod, resumes
 * it; tus clients send one request per upload at a time. The remaining race — a PATCH still running
 * on a replica whose client gave up while the client resumes on another — is bounded: the stale one
 * fails on its closed connection, and S3 keeps one copy of each part number.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Server as TusServer, type Upload } from '@tus/server';
import { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../../../common/logging/index.js';
import { keys } from '../../../common/video/index.js';
import { AppError, errors } from '../../errors.js';
import type { AuthMiddleware } from '../../middleware/authenticate.js';
import { fieldErrors } from '../../middleware/validate.js';
import type { ObjectStorage } from '../../infra/storage.js';
import type { VideoRow } from '../../models/video.js';
import type { CatalogService } from '../service.js';
import { SNIFF_BYTES, sniffVideo } from '../sniff.js';
import { OrderedS3Store } from './resumable-store.js';
import type { InFlightUploads } from './in-flight.js';
import { ClientGoneError, mapFailure, notVideo, tooLarge, uploadFieldsSchema } from './upload.js';

/** Where the tus endpoint lives (POST here; HEAD/PATCH/DELETE at `<this><uuid>/`). */
export const RESUMABLE_PATH = '/api/admin/uploads/';
/** The endpoint and its upload URLs (for the route timeout and the router). */
export const RESUMABLE_ROUTE = /^\/api\/admin\/uploads\/(?:[0-9a-f-]{36}\/?)?$/;
/** The response header with the catalog id of the Video created from a completed upload. */
export const VIDEO_ID_HEADER = 'Videoflix-Video-Id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The metadata a resumable upload carries: the multipart form's fields plus the file's name and type. */
export const resumableMetadataSchema = uploadFieldsSchema.extend({
  filename: z.string().max(255, 'Ensure this field has no more than 255 characters.').optional(),
  filetype: z.string().max(255, 'Ensure this field has no more than 255 characters.').optional(),
});

/** Events counted by the API's metrics. */
export type ResumableEvent = 'created' | 'resumed' | 'completed' | 'refused' | 'expired';

export interface ResumableDeps {
  catalog: CatalogService;
  storage: ObjectStorage;
  sourceBucket: string;
  maxBytes: number;
  partBytes: number;
  expirySeconds: number;
  concurrentParts: number;
  s3: { endpoint: string; region: string; accessKey: string; secretKey: string };
  logger: Logger;
  inFlight?: InFlightUploads;
  onEvent?: (event: ResumableEvent, n?: number) => void;
}

export interface ResumableUploads {
  router(auth: AuthMiddleware): Router;
  /** Removes expired uploads; resolves with the number of uploads removed. */
  cleanup(): Promise<number>;
  start(periodMs: number): void;
  stop(): Promise<void>;
}

/** `Upload-Metadata` → a plain object (keys with base64 values, comma-separated; a key alone is ""). */
export function parseUploadMetadata(header: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (!header?.trim()) return out;
  for (const pair of header.split(',')) {
    const [key, value, ...rest] = pair.trim().split(' ');
    if (!key || rest.length || !/^[\x21-\x7e]+$/.test(key) || key.includes(',')) return undefined;
    if (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
    out[key] = value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

function validateMetadata(meta: Record<string, string | null> | undefined) {
  const clean = Object.fromEntries(Object.entries(meta ?? {}).filter(([, v]) => v !== null));
  const parsed = resumableMetadataSchema.safeParse(clean);
  if (!parsed.success) throw errors.validation(fieldErrors(parsed.error));
  const { title, description, category } = parsed.data;
  return { title, description, category };
}

/** Reads `n` bytes (or all, if the body is shorter) and puts them back, so the body is unchanged. */
async function peekBody(req: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    while (length < n) {
      const chunk = req.read() as Buffer | null;
      if (chunk !== null) {
        chunks.push(chunk);
        length += chunk.length;
        continue;
      }
      if (req.readableEnded) break;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          req.off('readable', ok);
          req.off('end', ok);
          req.off('close', gone);
          req.off('error', gone);
          if (err) reject(err);
          else resolve();
        };
        const ok = () => done();
        const gone = () => done(new ClientGoneError());
        req.on('readable', ok);
        req.on('end', ok);
        req.on('close', gone);
        req.on('error', gone);
      });
      if (req.readableEnded && req.readableLength === 0) break;
    }
  } finally {
    if (length) req.unshift(Buffer.concat(chunks, length));
  }
  return Buffer.concat(chunks, length).subarray(0, n);
}

export function createResumableUploads(deps: ResumableDeps): ResumableUploads {
  const { logger, sourceBucket } = deps;
  // parts of a PATCH go to S3 concurrently; the subclass keeps the offset a gap-free prefix
  const store = new OrderedS3Store({
    partSize: deps.partBytes,
    expirationPeriodInMilliseconds: deps.expirySeconds * 1000,
    maxConcurrentPartUploads: deps.concurrentParts,
    // no object tags: the expiry is enforced by the clean-up below, not by a lifecycle rule on tags
    useTags: false,
    s3ClientConfig: {
      bucket: sourceBucket,
      endpoint: deps.s3.endpoint,
      region: deps.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: deps.s3.accessKey, secretAccessKey: deps.s3.secretKey },
    },
  });

  const tus = new TusServer({
    path: RESUMABLE_PATH.slice(0, -1),
    datastore: store,
    maxSize: deps.maxBytes,
    // a completed upload is a Video's source: DELETE may not remove it (the catalog's delete does)
    disableTerminationForFinishedUploads: true,
    namingFunction: () => keys.source(randomUUID()),
    generateUrl: (_req, { path, id }) => `${path}/${id.split('/')[0]}/`,
    getFileIdFromRequest: (_req, last) => (last && UUID.test(last) ? keys.source(last) : undefined),
    onUploadFinish: async (_req, upload) => {
      const row = await finish(upload);
      return { headers: { [VIDEO_ID_HEADER]: String(row.id) } };
    },
    onResponseError: (_req, err) => {
      if (err instanceof Error) {
        const mapped = mapFailure(err, deps.maxBytes);
        if (mapped instanceof AppError) {
          return { status_code: mapped.status, body: JSON.stringify(mapped.toBody()) };
        }
        logger.error({ err: err.message }, 'resumable upload failed');
      }
      return undefined;
    },
  });

  /** The row and Video of a completed upload, made once (idempotent across calls and replicas). */
  async function finish(upload: Upload): Promise<VideoRow> {
    const existing = await deps.catalog.findBySource(upload.id);
    if (existing && existing.phase !== 'Uploading') return existing;
    if (!(await deps.storage.exists(sourceBucket, upload.id)))
      throw new AppError(410, 'upload_gone', 'The upload expired or was removed; upload the file again.');
    const fields = validateMetadata(upload.metadata);
    const row = await deps.catalog.finishResumableUpload(upload.id, fields, upload.size ?? 0);
    if (!existing) {
      deps.onEvent?.('completed');
      logger.info(
        { id: row.id, name: row.name, size: upload.size, key: upload.id },
        'video uploaded (resumable)',
      );
    }
    return row;
  }

  /** The checks of the multipart route, before tus sees the request (their errors are the app's JSON). */
  async function before(req: Request, id: string | undefined): Promise<void> {
    if (req.method === 'POST') {
      if (req.get('upload-defer-length') !== undefined || req.get('upload-length') === undefined)
        throw errors.badRequest('length_required', 'The Upload-Length header is required.');
      const length = Number(req.get('upload-length'));
      if (Number.isSafeInteger(length) && length > deps.maxBytes) throw tooLarge(deps.maxBytes);
      if (Number(req.get('content-length') ?? 0) > 0)
        throw errors.badRequest('no_creation_with_upload', 'Send the file in PATCH requests after the POST.');
      const meta = parseUploadMetadata(req.get('upload-metadata'));
      if (!meta) throw errors.badRequest('invalid_metadata', 'The Upload-Metadata header is malformed.');
      validateMetadata(meta);
      return;
    }
    if (!id) return;
    // the first bytes of the upload (not a PATCH at a wrong offset 0: tus answers that one 409)
    if (
      req.method === 'PATCH' &&
      req.get('upload-offset') === '0' &&
      req.get('tus-resumable') &&
      (await store.getUpload(id).catch(() => undefined))?.offset === 0
    ) {
      const head = await peekBody(req, SNIFF_BYTES);
      const sniffed = sniffVideo(head);
      if (!sniffed.video) {
        await store.remove(id).catch((err: unknown) => {
          logger.warn({ key: id, err: (err as Error).message }, 'could not remove a refused upload');
        });
        deps.onEvent?.('refused');
        throw notVideo(sniffed.reason);
      }
      return;
    }
    // tus clients HEAD an upload only to resume it (after a failure, or a reload)
    if (req.method === 'HEAD') deps.onEvent?.('resumed');
  }

  /** HEAD of a complete upload: its Video (made now if the finish never ran) in VIDEO_ID_HEADER. */
  async function videoHeader(id: string): Promise<string | undefined> {
    let upload: Upload;
    try {
      upload = await store.getUpload(id);
    } catch {
      return undefined; // tus answers (404)
    }
    if (upload.size === undefined || upload.offset !== upload.size) return undefined;
    return String((await finish(upload)).id);
  }

  function router(auth: AuthMiddleware): Router {
    const r = Router();
    const handler: RequestHandler = async (req, res, next) => {
      const uuid = req.params.uuid as string | undefined;
      if (uuid !== undefined && !UUID.test(uuid)) return next(errors.notFound());
      const id = uuid === undefined ? undefined : keys.source(uuid);
      try {
        await before(req, id);
        if (req.method === 'HEAD' && id) {
          const videoId = await videoHeader(id);
          if (videoId) res.setHeader(VIDEO_ID_HEADER, videoId);
        }
        const handle = async () => {
          await tus.handle(req, res);
        };
        if (req.method === 'PATCH' && deps.inFlight)
          await deps.inFlight.run(req, async (t) => {
            t.abort = (err) => req.destroy(err);
            await handle();
          });
        else await handle();
        if (req.method === 'POST' && res.statusCode === 201) deps.onEvent?.('created');
      } catch (err) {
        if (err instanceof ClientGoneError) {
          res.destroy();
          return;
        }
        if (!req.complete && !res.headersSent) res.set('Connection', 'close');
        next(mapFailure(err, deps.maxBytes));
      }
    };
    r.post('/admin/uploads/', ...auth.requireStaff, handler);
    r.head('/admin/uploads/:uuid/', ...auth.requireStaff, handler);
    r.patch('/admin/uploads/:uuid/', ...auth.requireStaff, handler);
    r.delete('/admin/uploads/:uuid/', ...auth.requireStaff, handler);
    return r;
  }

  /** Removes the objects of one upload (a missing one is fine). */
  async function removeKeys(names: string[]): Promise<void> {
    for (const name of names) await deps.storage.remove(sourceBucket, name);
  }

  async function cleanup(): Promise<number> {
    const expiredBefore = Date.now() - deps.expirySeconds * 1000;
    // incomplete uploads past the expiry: multipart aborted, .info and .part removed
    let removed = 0;
    try {
      removed += Math.ceil((await store.deleteExpired()) / 2); // two objects (.info, .part) per upload
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not remove expired resumable uploads');
    }
    // completed uploads past the expiry: their .info (and a .part left by an interrupted request) go. The
    // API may not list objects (common/grants): the keys come from the rows of the last two expiry periods
    for (const key of await deps.catalog.sourceKeysCreatedBetween(
      new Date(expiredBefore - 2 * Math.max(deps.expirySeconds * 1000, 24 * 3600 * 1000)),
      new Date(expiredBefore),
    ))
      await removeKeys([`${key}.info`, `${key}.part`]);
    if (removed) {
      deps.onEvent?.('expired', removed);
      logger.info({ removed }, 'expired resumable uploads removed');
    }
    return removed;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = cleanup()
      .catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'the clean-up of resumable uploads failed'),
      )
      .finally(() => {
        running = undefined;
      });
  };

  return {
    router,
    cleanup,
    start(periodMs) {
      tick();
      timer = setInterval(tick, periodMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
