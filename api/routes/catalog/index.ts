/**
 * The catalog's routes under /api.
 *
 * Users (the original contract; authenticated; Ready videos only; 404 for anything else):
 *   GET /video/                                   list: id, created_at, title, description, thumbnail_url, category
 *   GET /video/<id>/master.m3u8                   application/vnd.apple.mpegurl
 *   GET /video/<id>/<resolution>/index.m3u8       application/vnd.apple.mpegurl
 *   GET /video/<id>/<resolution>/<segment>[/]     video/MP2T
 *   GET /video/<id>/thumbnail.jpg                 image/jpeg (what thumbnail_url points to)
 * Admins (staff): POST /admin/videos/, GET /admin/videos/, DELETE /admin/videos/<id>/.
 *
 * Every object key comes from the row's uid and common/video/keys.ts after the path parameters
 * matched strict patterns (a number, one of the renditions, SEGMENT_PATTERN), so nothing from the
 * path reaches a key unchecked: `..`, encoded slashes and the like simply do not match → 404.
 */
import { pipeline } from 'node:stream/promises';
import { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { unavailable } from '../../../common/errors/index.js';
import { contentTypeFor } from '../../../common/storage/index.js';
import { keys, RENDITIONS, SEGMENT_PATTERN, type RenditionName } from '../../../common/video/index.js';
import { AppError, errors } from '../../errors.js';
import type { ByteRange, ObjectStorage } from '../../infra/storage.js';
import type { AuthMiddleware } from '../../middleware/authenticate.js';
import type { MediaUrlSigner } from '../../security/media-urls.js';
import type { VideoRow } from '../../models/video.js';
import { presentAdminVideo, presentVideo } from '../../presenters/video.js';
import type { CatalogService } from '../../services/catalog.js';
import { ReadyListCache } from '../../services/catalog-list.js';
import { servedPlaylist } from '../../services/playlists.js';
import { TtlCache } from '../../services/ttl-cache.js';
import { uploadHandler, type InFlightUploads } from './upload.js';

export interface CatalogRouteDeps {
  /** Uploads in progress (aborted by the shutdown). */
  uploads?: InFlightUploads;
  catalog: CatalogService;
  storage: ObjectStorage;
  mediaBucket: string;
  sourceBucket: string;
  publicApiUrl: string;
  uploadMaxBytes: number;
  signer: MediaUrlSigner;
  /** Rewritten playlists kept in memory (per object and row version; default 60 s, 1000 entries). */
  playlistCache?: { ttlMs?: number; max?: number };
}

/** A playlist as served (URIs rewritten), with its object's validators. */
interface ServedPlaylist {
  body: Buffer;
  etag?: string;
  lastModified?: string;
}
type PlaylistCache = TtlCache<string, ServedPlaylist>;

const ID = /^[1-9]\d{0,9}$/;
const CACHE = {
  playlist: 'private, max-age=60',
  segment: 'private, max-age=86400, immutable',
  thumbnail: 'private, max-age=3600',
};

function param(req: Request, name: string): string {
  const v = (req.params as Record<string, string | undefined>)[name];
  return typeof v === 'string' ? v : '';
}

/** Loads the Ready row of `:id` into res.locals.video; 404 otherwise. */
function loadReady(catalog: CatalogService): RequestHandler {
  return async (req, res, next) => {
    const id = param(req, 'id');
    if (!ID.test(id) || Number(id) > 2_147_483_647) return next(errors.notFound());
    const row = await catalog.findReady(Number(id));
    if (!row) return next(errors.notFound());
    res.locals.video = row;
    next();
  };
}

/** `:resolution` must be one of the ladder's names and a rendition this video has. */
function resolutionOf(req: Request, row: VideoRow): RenditionName | undefined {
  const res = param(req, 'resolution');
  if (!(RENDITIONS as readonly string[]).includes(res)) return undefined;
  const done = (row.renditions ?? []).find((r) => r.name === res);
  return done && done.phase === 'Succeeded' ? (res as RenditionName) : undefined;
}

/**
 * A playlist, rewritten once and then served from memory: keyed by the object and the row's
 * updated_at, so a row that changed (a new status, a delete) never finds the old one; objects of a
 * Ready video do not change (their keys carry the resource's uid).
 */
async function sendPlaylist(
  storage: ObjectStorage,
  playlists: PlaylistCache,
  row: VideoRow,
  bucket: string,
  key: string,
  req: Request,
  res: Response,
  kind: 'master' | 'media',
): Promise<void> {
  const cacheKey = `${row.id}:${row.updatedAt.getTime()}:${bucket}/${key}`;
  let p = playlists.get(cacheKey);
  if (!p) {
    const got = await storage.readText(bucket, key);
    if (!got) throw errors.notFound();
    p = {
      body: Buffer.from(servedPlaylist(got.text, kind), 'utf8'),
      etag: got.obj.etag,
      lastModified: got.obj.lastModified,
    };
    playlists.set(cacheKey, p);
  }
  setHeaders(res, key, p.body.length, CACHE.playlist, p.etag, p.lastModified);
  if (notModified(req, p.etag)) return void res.status(304).end();
  res.status(200).end(req.method === 'HEAD' ? undefined : p.body);
}

async function sendObject(
  storage: ObjectStorage,
  bucket: string,
  key: string,
  req: Request,
  res: Response,
  cache: string,
): Promise<void> {
  // one byte range (what native players ask for); other forms are answered whole, as RFC 9110 allows
  const range = req.get('if-range') === undefined ? parseRange(req.get('range')) : undefined;
  const obj = await storage.open(bucket, key, range);
  if (!obj) throw errors.notFound();
  if (obj === 'unsatisfiable') {
    const total = await storage.size(bucket, key);
    if (total === undefined) throw errors.notFound();
    res.set('Content-Range', `bytes */${total}`);
    res.set('Accept-Ranges', 'bytes');
    throw new AppError(416, 'range_not_satisfiable', 'Requested range not satisfiable.');
  }
  setHeaders(res, key, obj.size, cache, obj.etag, obj.lastModified);
  res.set('Accept-Ranges', 'bytes');
  if (notModified(req, obj.etag) || req.method === 'HEAD') {
    obj.stream.destroy();
    if (notModified(req, obj.etag)) res.status(304);
    return void res.end();
  }
  if (obj.part) {
    res.status(206);
    res.set('Content-Range', `bytes ${obj.part.start}-${obj.part.end}/${obj.part.total}`);
  } else {
    res.status(200);
  }
  try {
    await pipeline(obj.stream, res);
  } catch {
    // the client went away or the store broke off: the connection is already closed
    res.destroy();
  }
}

/** Storage or cluster trouble is a 503 to the client (common/errors), never a bare 500. */
const infraErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  const down = unavailable(err, 'kubernetes');
  next(down ? errors.serviceUnavailable(down.code, down.detail) : err);
};

/** `bytes=<first>-[<last>]` → the range; anything else (suffix, several ranges, garbage) → undefined. */
export function parseRange(header: string | undefined): ByteRange | undefined {
  const m = header ? /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim()) : null;
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : undefined;
  if (end !== undefined && end < start) return undefined;
  return { start, ...(end !== undefined ? { end } : {}) };
}

function setHeaders(
  res: Response,
  key: string,
  size: number,
  cache: string,
  etag?: string,
  lastModified?: string,
) {
  res.set('Content-Type', contentTypeFor(key));
  res.set('Content-Length', String(size));
  res.set('Cache-Control', cache);
  if (etag) res.set('ETag', etag.startsWith('"') ? etag : `"${etag}"`);
  if (lastModified) res.set('Last-Modified', lastModified);
}

function notModified(req: Request, etag?: string): boolean {
  const inm = req.get('if-none-match');
  if (!inm || !etag) return false;
  const tag = etag.replace(/"/g, '');
  return inm.split(',').some((t) => t.trim().replace(/^W\//, '').replace(/"/g, '') === tag);
}

export function videoRouter(deps: CatalogRouteDeps, auth: AuthMiddleware): Router {
  const r = Router();
  const { catalog, storage, mediaBucket } = deps;
  const ready = loadReady(catalog);
  const video = (res: Response) => res.locals.video as VideoRow;
  const sign = (id: number) => deps.signer.sign(id);
  const list = new ReadyListCache({
    catalog,
    render: (rows) => rows.map((row) => presentVideo(row, deps.publicApiUrl, sign)),
    variant: () => deps.signer.expiry(),
  });
  const playlists: PlaylistCache = new TtlCache({
    max: deps.playlistCache?.max ?? 1000,
    ttlMs: deps.playlistCache?.ttlMs ?? 60_000,
  });
  /** A valid signature in the query stands in for the cookie (and lets other sites embed the image). */
  const signedOrAuth: RequestHandler = (req, res, next) => {
    const id = param(req, 'id');
    if (ID.test(id) && deps.signer.verify(Number(id), req.query.exp, req.query.sig)) {
      res.set('Cross-Origin-Resource-Policy', 'cross-origin');
      return next();
    }
    auth.requireAuth(req, res, next);
  };
  // Playlists only without a trailing slash: relative URIs inside a playlist served as
  // `index.m3u8/` would resolve below it (`index.m3u8/segment_000.ts`) and break the player.
  const exact: RequestHandler = (req, _res, next) =>
    next(req.path.endsWith('/') ? errors.notFound() : undefined);

  // the same bytes, Content-Type and ETag as res.json(list) would send, built once per catalog state
  r.get('/video/', auth.requireAuth, async (_req, res) => {
    const { body, etag } = await list.get();
    res.set('Content-Type', 'application/json; charset=utf-8');
    res.set('ETag', etag);
    res.send(body);
  });

  r.get('/video/:id/master.m3u8', exact, auth.requireAuth, ready, async (req, res) => {
    const row = video(res);
    const key = row.masterPlaylistKey ?? keys.master(row.uid!);
    await sendPlaylist(storage, playlists, row, mediaBucket, key, req, res, 'master');
  });

  r.get('/video/:id/thumbnail.jpg', exact, signedOrAuth, ready, async (req, res) => {
    const row = video(res);
    if (!row.thumbnailKey) throw errors.notFound();
    await sendObject(storage, mediaBucket, keys.thumbnail(row.uid!), req, res, CACHE.thumbnail);
  });

  r.get('/video/:id/:resolution/index.m3u8', exact, auth.requireAuth, ready, async (req, res) => {
    const row = video(res);
    const resolution = resolutionOf(req, row);
    if (!resolution) throw errors.notFound();
    const key = keys.playlist(row.uid!, resolution);
    await sendPlaylist(storage, playlists, row, mediaBucket, key, req, res, 'media');
  });

  r.get('/video/:id/:resolution/:segment', auth.requireAuth, ready, async (req, res) => {
    const row = video(res);
    const resolution = resolutionOf(req, row);
    const segment = param(req, 'segment');
    if (!resolution || !SEGMENT_PATTERN.test(segment)) throw errors.notFound();
    await sendObject(
      storage,
      mediaBucket,
      keys.segment(row.uid!, resolution, segment),
      req,
      res,
      CACHE.segment,
    );
  });

  r.use('/video', infraErrors);
  return r;
}

export function adminVideoRouter(
  deps: CatalogRouteDeps & { logger: import('../../../common/logging/index.js').Logger },
  auth: AuthMiddleware,
): Router {
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
    }),
  );

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

  r.delete('/admin/videos/:id/', ...auth.requireStaff, async (req, res) => {
    const id = param(req, 'id');
    if (!ID.test(id) || Number(id) > 2_147_483_647) throw errors.notFound();
    const outcome = await catalog.delete(Number(id));
    if (!outcome) throw errors.notFound();
    res.status(202).json({ id: Number(id), status: outcome });
  });

  // A Failed video processed again: only the renditions that failed (the operator's retry annotation).
  r.post('/admin/videos/:id/retry/', ...auth.requireStaff, async (req, res) => {
    const id = param(req, 'id');
    if (!ID.test(id) || Number(id) > 2_147_483_647) throw errors.notFound();
    const outcome = await catalog.retry(Number(id));
    if (!outcome) throw errors.notFound();
    if (outcome === 'not_failed')
      throw errors.conflict('not_failed', 'Only a video whose processing failed can be retried.');
    res.status(202).json({ id: Number(id), status: 'retrying' });
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
