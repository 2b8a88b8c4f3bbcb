/**
 * `POST /api/admin/videos/`: multipart/form-data with `title`, `description`, `category`, then
 * `file` (last: it is streamed as it arrives, never held whole in memory or written to disk).
 *
 * 1. Refuse early what can be told early: not multipart (415), a declared length over the limit
 *    (413), fields that fail validation (400), a file whose first bytes are no video container (415).
 * 2. The catalog row (Uploading) → the source streamed to S3 (multipart, ≤ 2 parts in memory) →
 *    the Video resource → the row linked to it; 202 `{"id", "status"}`.
 * 3. Any failure from step 2 on (client gone, size limit, S3, Kubernetes, database, the process
 *    shutting down) undoes what was done: aborted multipart upload / removed object, deleted
 *    resource, deleted row.
 * On shutdown (InFlightUploads.abortAll) every upload in progress is aborted: its client gets a 503
 * `shutting_down` (upload again; another replica takes it) and its clean-up finishes before the
 * process closes its pools.
 */
import { unavailable } from '../../../common/errors/index.js';
import busboy from 'busboy';
import type { Request, RequestHandler } from 'express';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Logger } from '../../../common/logging/index.js';
import { AppError, errors } from '../../errors.js';
import { kubeMessage, kubeStatus } from '../../infra/kube.js';
import { UploadTooLargeError, type ObjectStorage } from '../../infra/storage.js';
import { requestSignal } from '../../infra/request-signal.js';
import { fieldErrors } from '../../middleware/validate.js';
import type { CatalogService } from '../service.js';
import { SNIFF_BYTES, sniffVideo } from '../sniff.js';
import type { InFlightUploads, Tracked } from './in-flight.js';

export const uploadFieldsSchema = z.object({
  title: z
    .string({ error: 'This field is required.' })
    .trim()
    .min(1, 'This field may not be blank.')
    .max(200, 'Ensure this field has no more than 200 characters.'),
  description: z.string().trim().max(5000, 'Ensure this field has no more than 5000 characters.').default(''),
  category: z.string().trim().max(100, 'Ensure this field has no more than 100 characters.').default(''),
});

export interface UploadDeps {
  catalog: CatalogService;
  storage: ObjectStorage;
  sourceBucket: string;
  maxBytes: number;
  logger: Logger;
  /** Uploads in progress, for the shutdown to abort. */
  inFlight?: InFlightUploads;
  /** Called once per upload with its result, the file's bytes received and its seconds (the API's metrics). */
  onUpload?: (result: UploadResult, bytes: number, seconds: number) => void;
}

/** How an upload ended: 202, a 4xx refusal, a failure (5xx, shutdown), the client gone. */
export type UploadResult = 'accepted' | 'refused' | 'failed' | 'abandoned';

function resultOf(err: unknown, req: Request): UploadResult {
  // the client went away: its socket is gone, whichever of the stream, the signal or S3 noticed first
  if (err instanceof ClientGoneError || (!req.complete && req.socket.destroyed)) return 'abandoned';
  return err instanceof AppError && err.status < 500 ? 'refused' : 'failed';
}

/** Passes the chunks on, counting their bytes into `meter`. */
async function* counted(chunks: AsyncIterable<Buffer>, meter: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    meter.bytes += chunk.length;
    yield chunk;
  }
}

export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before the upload was complete');
    this.name = 'ClientGoneError';
  }
}

export const tooLarge = (max: number) =>
  new AppError(413, 'payload_too_large', `The file is larger than the limit of ${max} bytes.`);
export const notVideo = (reason: string) =>
  new AppError(415, 'not_a_video', `The uploaded file is not a video: ${reason}.`, {
    file: [`The uploaded file is not a video: ${reason}.`],
  });
const badMultipart = (why: string) =>
  errors.badRequest('malformed_multipart', `Multipart form parse error - ${why}`);

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new ClientGoneError();
}

interface FilePart {
  fields: Record<string, string>;
  file: Readable;
  mimeType: string;
}

/** Resolves when the `file` part starts (the fields before it are in `fields`). */
function receiveUntilFile(req: Request, maxBytes: number): Promise<FilePart> {
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: req.headers,
      limits: { files: 1, fields: 10, parts: 12, fieldSize: 16 * 1024, fileSize: maxBytes + 1 },
    });
  } catch (err) {
    return Promise.reject(badMultipart((err as Error).message));
  }
  return new Promise<FilePart>((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Readable | undefined;
    const fail = (err: Error) => {
      if (file) file.destroy(err);
      else reject(err);
    };
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated)
        return fail(errors.validation({ [name]: ['Ensure this field has no more than 16384 characters.'] }));
      if (file) return; // fields after the file are ignored
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || file) {
        stream.resume();
        return;
      }
      file = stream;
      stream.on('limit', () => stream.destroy(new UploadTooLargeError(maxBytes)));
      resolve({ fields, file: stream, mimeType: info.mimeType });
    });
    bb.on('close', () => {
      if (!file) reject(errors.validation({ file: ['No file was submitted.'] }));
    });
    bb.on('error', (err: Error) => fail(badMultipart(err.message)));
    bb.on('fieldsLimit', () => fail(badMultipart('too many fields')));
    bb.on('partsLimit', () => fail(badMultipart('too many parts')));
    req.on('close', () => {
      if (!req.complete) fail(new ClientGoneError());
    });
    req.on('error', () => fail(new ClientGoneError()));
    // the request timed out (middleware/timeout.ts answered already): stop receiving, undo
    const signal = requestSignal();
    signal?.addEventListener('abort', () => fail(abortReason(signal)), { once: true });
    req.pipe(bb);
  });
}

/** The first `n` bytes (or all, if shorter) and an iterable of everything, those bytes included. */
async function peek(stream: Readable, n: number): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    chunks.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(chunks, length);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { head, all: all() };
}

export function uploadHandler(deps: UploadDeps): RequestHandler {
  return async (req, res, next) => {
    const started = process.hrtime.bigint();
    const meter = { bytes: 0 };
    const ended = (result: UploadResult) =>
      deps.onUpload?.(result, meter.bytes, Number(process.hrtime.bigint() - started) / 1e9);
    try {
      const body = deps.inFlight
        ? await deps.inFlight.run(req, (t) => upload(req, deps, meter, t))
        : await upload(req, deps, meter);
      ended('accepted');
      res.status(202).json(body);
    } catch (err) {
      ended(resultOf(err, req));
      // An early refusal (415, 400, 503) lets Node read and discard the rest of the body, so the
      // client can finish sending and read the answer; past the size limit, and when the process
      // shuts down, the connection closes.
      if (!req.complete && err instanceof AppError && (err.status === 413 || err.code === 'shutting_down'))
        res.set('Connection', 'close');
      if (err instanceof ClientGoneError) {
        deps.logger.info('upload abandoned by the client; nothing kept');
        res.destroy();
        return;
      }
      next(err);
    }
  };
}

async function upload(
  req: Request,
  deps: UploadDeps,
  meter: { bytes: number },
  tracked?: Tracked,
): Promise<{ id: number; status: string }> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) throw errors.unsupportedMediaType(type);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > deps.maxBytes + 64 * 1024) throw tooLarge(deps.maxBytes);

  const { fields, file, mimeType } = await receiveUntilFile(req, deps.maxBytes);
  if (tracked) tracked.abort = (err) => file.destroy(err);
  const parsed = uploadFieldsSchema.safeParse(fields);
  if (!parsed.success) {
    file.resume();
    throw errors.validation(fieldErrors(parsed.error));
  }

  let sniffed;
  let all: AsyncIterable<Buffer>;
  try {
    const p = await peek(file, SNIFF_BYTES);
    all = p.all;
    sniffed = sniffVideo(p.head);
  } catch (err) {
    throw mapFailure(err, deps.maxBytes);
  }
  if (!sniffed.video) {
    file.resume();
    throw notVideo(sniffed.reason);
  }

  const row = await deps.catalog.beginUpload(parsed.data);
  try {
    const { size } = await deps.storage.upload(row.sourceBucket!, row.sourceKey!, counted(all, meter), {
      maxBytes: deps.maxBytes,
      contentType: mimeType.startsWith('video/') ? mimeType : 'application/octet-stream',
    });
    const linked = await deps.catalog.finishUpload(row, size);
    deps.logger.info(
      { id: linked.id, name: linked.name, size, container: sniffed.container },
      'video uploaded',
    );
    return { id: linked.id, status: 'pending' };
  } catch (err) {
    file.destroy();
    await deps.catalog.abandonUpload(row);
    throw mapFailure(err, deps.maxBytes);
  }
}

export function mapFailure(err: unknown, maxBytes: number): unknown {
  if (err instanceof ClientGoneError || err instanceof AppError) return err;
  if (err instanceof UploadTooLargeError) return tooLarge(maxBytes);
  const status = kubeStatus(err);
  if (status === 422 || status === 400)
    return errors.badRequest('invalid_video', `The Video resource was refused: ${kubeMessage(err)}`);
  const down = unavailable(err, 'kubernetes'); // common/errors: storage or cluster trouble
  return down ? errors.serviceUnavailable(down.code, down.detail) : err;
}
