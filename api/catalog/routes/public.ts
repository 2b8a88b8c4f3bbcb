/**
 * The users' catalog routes under /api (the original contract; authenticated; Ready videos only;
 * 404 for anything else):
 *   GET /video/                                   list: id, created_at, title, description, thumbnail_url, category
 *                                                 (br or gzip by Accept-Encoding, api/catalog/list-cache.ts)
 *   GET /video/<id>/master.m3u8                   application/vnd.apple.mpegurl
 *   GET /video/<id>/<resolution>/index.m3u8       application/vnd.apple.mpegurl
 *   GET /video/<id>/<resolution>/<segment>[/]     video/MP2T
 *
 * Streaming offload (deps.offload, STREAMING_MODE=offload; api/catalog/streaming.ts): the variant
 * playlist lists presigned same-origin S3 URLs instead of the segment names, and the segment route
 * answers 302 to the same URL; both answer 421 when the request's Host is not one URLs may be signed
 * for. Master playlists, thumbnails and the list are the same in both modes.
 *   GET /video/<id>/thumbnail.jpg                 image/jpeg (what thumbnail_url points to)
 *
 * Every object key comes from the row's uid and common/video/keys.ts after the path parameters
 * matched strict patterns (a number, one of the renditions, SEGMENT_PATTERN), so nothing from the
 * path reaches a key unchecked: `..`, encoded slashes and the like simply do not match → 404.
 */
import { Router, type Request, type RequestHandler } from 'express';
import { LRUCache } from 'lru-cache';
import { keys, RENDITIONS, SEGMENT_PATTERN, type RenditionName } from '../../../common/video/index.js';
import { errors } from '../../errors.js';
import type { AuthMiddleware } from '../../middleware/authenticate.js';
import type { VideoRow } from '../../models/video.js';
import { chooseEncoding, ReadyListCache } from '../list-cache.js';
import { presentVideo } from '../presenters.js';
import { withSegmentUrls } from '../streaming.js';
import type { CatalogRouteDeps } from './deps.js';
import {
  CACHE,
  ID,
  infraErrors,
  loadReady,
  param,
  readyRow,
  sendObject,
  sendPlaylist,
  type PlaylistCache,
} from './http.js';

/** `:resolution` must be one of the ladder's names and a rendition this video has. */
function resolutionOf(req: Request, row: VideoRow): RenditionName | undefined {
  const res = param(req, 'resolution');
  if (!(RENDITIONS as readonly string[]).includes(res)) return undefined;
  const done = (row.renditions ?? []).find((r) => r.name === res);
  return done && done.phase === 'Succeeded' ? (res as RenditionName) : undefined;
}

export function videoRouter(deps: CatalogRouteDeps, auth: AuthMiddleware): Router {
  const r = Router();
  const { catalog, storage, mediaBucket } = deps;
  const ready = loadReady(catalog);
  const sign = (id: number) => deps.signer.sign(id);
  const list = new ReadyListCache({
    catalog,
    render: (rows) => rows.map((row) => presentVideo(row, deps.publicApiUrl, sign)),
    variant: () => deps.signer.expiry(),
    ...(deps.changes ? { changes: deps.changes } : {}),
  });
  const playlists: PlaylistCache = new LRUCache({
    max: deps.playlistCache?.max ?? 1000,
    ttl: deps.playlistCache?.ttlMs ?? 60_000,
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

  // built and compressed once per catalog state: the JSON res.json(list) would send (same bytes,
  // Content-Type and ETag when uncompressed), in br or gzip when Accept-Encoding asks for it
  r.get('/video/', auth.requireAuth, async (req, res) => {
    const { body, etag, encoding } = await list.get(chooseEncoding(req.get('accept-encoding')));
    res.vary('Accept-Encoding');
    res.set('ETag', etag);
    if (req.fresh) return void res.status(304).end();
    res.set('Content-Type', 'application/json; charset=utf-8');
    if (encoding !== 'identity') res.set('Content-Encoding', encoding);
    res.set('Content-Length', String(body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : body);
  });

  r.get('/video/:id/master.m3u8', exact, auth.requireAuth, ready, async (req, res) => {
    const row = readyRow(res);
    const key = row.masterPlaylistKey ?? keys.master(row.uid!);
    await sendPlaylist(storage, playlists, { row, bucket: mediaBucket, key, kind: 'master' }, req, res);
  });

  r.get('/video/:id/thumbnail.jpg', exact, signedOrAuth, ready, async (req, res) => {
    const row = readyRow(res);
    if (!row.thumbnailKey) throw errors.notFound();
    await sendObject(storage, mediaBucket, keys.thumbnail(row.uid!), req, res, CACHE.thumbnail);
  });

  const offload = deps.offload;
  /** Offload: the Host the URLs are signed for (res.locals.streamingHost), or 421. */
  const publicHost: RequestHandler = (req, res, next) => {
    if (!offload) return next();
    const host = offload.host(req.get('host'));
    if (!host) return next(errors.misdirected());
    res.locals.streamingHost = host;
    next();
  };

  r.get('/video/:id/:resolution/index.m3u8', exact, auth.requireAuth, publicHost, ready, async (req, res) => {
    const row = readyRow(res);
    const resolution = resolutionOf(req, row);
    if (!resolution) throw errors.notFound();
    const key = keys.playlist(row.uid!, resolution);
    let signed: Parameters<typeof sendPlaylist>[2]['signed'];
    if (offload) {
      const host = res.locals.streamingHost as string;
      const at = offload.windowStart();
      signed = {
        variant: `${host}@${at}`,
        apply: (served) =>
          withSegmentUrls(served, (s) => offload.url(host, keys.segment(row.uid!, resolution, s), at)),
      };
    }
    await sendPlaylist(
      storage,
      playlists,
      { row, bucket: mediaBucket, key, kind: 'media', signed },
      req,
      res,
    );
  });

  r.get('/video/:id/:resolution/:segment', auth.requireAuth, publicHost, ready, async (req, res) => {
    const row = readyRow(res);
    const resolution = resolutionOf(req, row);
    const segment = param(req, 'segment');
    if (!resolution || !SEGMENT_PATTERN.test(segment)) throw errors.notFound();
    if (offload) {
      // old clients keep working: the same URL a playlist lists, fetched from the S3 server
      res.set('Cache-Control', CACHE.playlist);
      return res.redirect(
        302,
        offload.url(res.locals.streamingHost as string, keys.segment(row.uid!, resolution, segment)),
      );
    }
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
