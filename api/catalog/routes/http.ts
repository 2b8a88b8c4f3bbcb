/**
 * HTTP helpers shared by the catalog's public and admin routers: path parameters, loading the Ready
 * row, sending stored objects and playlists (conditional GET through Express's `req.fresh`: ETag
 * and Last-Modified against If-None-Match and If-Modified-Since; one byte range), and the mapping
 * of storage and cluster trouble to 503.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { LRUCache } from 'lru-cache';
import { unavailable } from '../../../common/errors/index.js';
import { contentTypeFor } from '../../../common/storage/index.js';
import { AppError, errors } from '../../errors.js';
import type { ByteRange, ObjectStorage } from '../../infra/storage.js';
import type { VideoRow } from '../../models/video.js';
import { servedPlaylist } from '../playlists.js';
import type { CatalogService } from '../service.js';

/** What `:id` must look like (a row id is also at most 2^31 - 1: `idParam`). */
export const ID = /^[1-9]\d{0,9}$/;

export const CACHE = {
  playlist: 'private, max-age=60',
  segment: 'private, max-age=86400, immutable',
  thumbnail: 'private, max-age=3600',
};

/** A playlist as served (URIs rewritten), with its object's validators. */
export interface ServedPlaylist {
  body: Buffer;
  etag?: string;
  lastModified?: string;
}
export type PlaylistCache = LRUCache<string, ServedPlaylist>;

export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, string | undefined>)[name];
  return typeof v === 'string' ? v : '';
}

/** `:id` as a row id (a positive 32-bit integer), or undefined. */
export function idParam(req: Request): number | undefined {
  const id = param(req, 'id');
  return ID.test(id) && Number(id) <= 2_147_483_647 ? Number(id) : undefined;
}

/** Loads the Ready row of `:id` into res.locals.video; 404 otherwise. */
export function loadReady(catalog: CatalogService): RequestHandler {
  return async (req, res, next) => {
    const id = idParam(req);
    const row = id === undefined ? undefined : await catalog.findReady(id);
    if (!row) return next(errors.notFound());
    res.locals.video = row;
    next();
  };
}

export const readyRow = (res: Response) => res.locals.video as VideoRow;

/**
 * A playlist, rewritten once and then served from memory: keyed by the object and the row's
 * updated_at, so a row that changed (a new status, a delete) never finds the old one; objects of a
 * Ready video do not change (their keys carry the resource's uid).
 */
export async function sendPlaylist(
  storage: ObjectStorage,
  playlists: PlaylistCache,
  o: {
    row: VideoRow;
    bucket: string;
    key: string;
    kind: 'master' | 'media';
    /**
     * A further rewrite of the served text (streaming offload: presigned segment URLs) and what it
     * depends on (host and signing window): part of the cache key and of the ETag, and the object's
     * Last-Modified is not sent, so a revalidation never keeps a copy whose URLs have expired.
     */
    signed?: { variant: string; apply: (served: string) => string };
  },
  req: Request,
  res: Response,
): Promise<void> {
  const variant = o.signed ? `@${o.signed.variant}` : '';
  const cacheKey = `${o.row.id}:${o.row.updatedAt.getTime()}:${o.bucket}/${o.key}${variant}`;
  let p = playlists.get(cacheKey);
  if (!p) {
    const got = await storage.readText(o.bucket, o.key);
    if (!got) throw errors.notFound();
    const served = servedPlaylist(got.text, o.kind);
    p = o.signed
      ? {
          body: Buffer.from(o.signed.apply(served), 'utf8'),
          etag: createHash('sha256')
            .update(`${got.obj.etag ?? ''}${variant}`)
            .digest('base64url')
            .slice(0, 27),
        }
      : { body: Buffer.from(served, 'utf8'), etag: got.obj.etag, lastModified: got.obj.lastModified };
    playlists.set(cacheKey, p);
  }
  setHeaders(res, o.key, p.body.length, CACHE.playlist, p.etag, p.lastModified);
  if (req.fresh) return void res.status(304).end();
  res.status(200).end(req.method === 'HEAD' ? undefined : p.body);
}

export async function sendObject(
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
  const notModified = req.fresh;
  if (notModified || req.method === 'HEAD') {
    obj.stream.destroy();
    if (notModified) res.status(304);
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

/** `bytes=<first>-[<last>]` → the range; anything else (suffix, several ranges, garbage) → undefined. */
export function parseRange(header: string | undefined): ByteRange | undefined {
  const m = header ? /^bytes=(\d{1,15})-(\d{0,15})$/.exec(header.trim()) : null;
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : undefined;
  if (end !== undefined && end < start) return undefined;
  return { start, ...(end !== undefined ? { end } : {}) };
}

/** Content headers and the object's validators, which `req.fresh` compares with the request's. */
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

/** Storage or cluster trouble is a 503 to the client (common/errors), never a bare 500. */
export const infraErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  const down = unavailable(err, 'kubernetes');
  next(down ? errors.serviceUnavailable(down.code, down.detail) : err);
};
