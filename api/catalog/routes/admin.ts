/**
 * The staff's catalog routes under /api: POST /admin/videos/ (upload), GET /admin/videos/ (every
 * video with its processing state), DELETE /admin/videos/<id>/, POST /admin/videos/<id>/retry/.
 */
import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { errors } from '../../errors.js';
import type { AuthMiddleware } from '../../middleware/authenticate.js';
import { presentAdminVideo } from '../presenters.js';
import type { CatalogRouteDeps } from './deps.js';
import { keys } from '../../../common/video/index.js';
import { CACHE, idParam, infraErrors, sendObject } from './http.js';
import { uploadHandler } from './upload.js';

export function adminVideoRouter(deps: CatalogRouteDeps, auth: AuthMiddleware): Router {
  const r = Router();
  const { catalog } = deps;

  r.post(
    '/admin/videos/',
    ...auth.requireStaff,
    uploadHandler({
      catalog,
      storage: deps.storage,
      sourceBucket: deps.sourceBucket,
      maxBytes: deps.uploadMaxBytes,
      logger: deps.logger,
      ...(deps.uploads ? { inFlight: deps.uploads } : {}),
      ...(deps.onUpload ? { onUpload: deps.onUpload } : {}),
    }),
  );

  // the resumable (tus 1.0) uploads beside it: /api/admin/uploads/ (routes/resumable.ts)
  if (deps.resumable) r.use(deps.resumable.router(auth));

  // a refused upload (401, 403, 4xx before or while reading) drains what the client is still
  // sending, up to a bound, so it can read the answer instead of failing to write (EPIPE)
  r.use('/admin/videos/', ((err, req, res, next) => {
    if (req.method !== 'POST' || req.complete) return next(err);
    drainRequest(req, res).then(() => next(err), next);
  }) as ErrorRequestHandler);

  r.get('/admin/videos/', ...auth.requireStaff, async (_req, res) => {
    const rows = await catalog.listAll();
    res.json(rows.map((row) => presentAdminVideo(row, deps.publicApiUrl, (id) => deps.signer.sign(id))));
  });

  // the thumbnail as soon as the probe wrote it, whatever the phase (the public route serves Ready videos only)
  r.get('/admin/videos/:id/thumbnail.jpg', ...auth.requireStaff, async (req, res) => {
    const id = idParam(req);
    const row = id === undefined ? undefined : await catalog.findWithThumbnail(id);
    if (!row) throw errors.notFound();
    await sendObject(deps.storage, deps.mediaBucket, keys.thumbnail(row.uid!), req, res, CACHE.thumbnail);
  });

  r.delete('/admin/videos/:id/', ...auth.requireStaff, async (req, res) => {
    const id = idParam(req);
    const outcome = id === undefined ? undefined : await catalog.delete(id);
    if (!outcome) throw errors.notFound();
    res.status(202).json({ id, status: outcome });
  });

  // A Failed video processed again: only the renditions that failed (the operator's retry annotation).
  r.post('/admin/videos/:id/retry/', ...auth.requireStaff, async (req, res) => {
    const id = idParam(req);
    const outcome = id === undefined ? undefined : await catalog.retry(id);
    if (!outcome) throw errors.notFound();
    if (outcome === 'not_failed')
      throw errors.conflict('not_failed', 'Only a video whose processing failed can be retried.');
    res.status(202).json({ id, status: 'retrying' });
  });

  r.use('/admin/videos', infraErrors);
  return r;
}

/** Reads and discards the rest of a request body (at most 2 MiB / 5 s; beyond that the connection will close). */
function drainRequest(req: Request, res: Response, maxBytes = 2 * 1024 * 1024, maxMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = (close: boolean) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onEnd);
      // the answer may have gone meanwhile (a request timeout answered 408): a header can no longer be set
      if (close && !res.headersSent) res.set('Connection', 'close');
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done(true);
    };
    const onEnd = () => done(false);
    const timer = setTimeout(() => done(true), maxMs);
    req.unpipe();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onEnd);
    req.resume();
  });
}
