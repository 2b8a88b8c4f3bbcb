/**
 * The admin console (issue 15): the Django admin's replacement for uploads, served by the API at /admin/.
 *
 * Browser code in web/admin-console/ (index.html, style.css and native ES modules: app.js and the modules it
 * imports; no framework, no build step), served by express.static, plus hls.js and tus-js-client from
 * node_modules (production dependencies, so the API image has them; no CDN) at /admin/vendor/hls.min.js and
 * /admin/vendor/tus.min.js (the resumable uploads of issue 25). The page talks to the API's own
 * routes on the same origin with the auth cookies (POST /api/login/, /api/admin/videos/, the HLS routes), so
 * CSRF's Origin check passes as for any same-origin request.
 *
 * Every file carries a strict Content-Security-Policy of its own (no inline script or style; media and the
 * hls.js worker from blob: URLs, which Media Source Extensions need), replacing helmet's default one. Only the
 * page at /admin/ and the console's .js and .css files are served; anything else falls through to the JSON 404.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

export const ADMIN_CONSOLE_PATH = '/admin/';

export const ADMIN_CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** What the console serves below /admin/: the page (at the folder's URL) and its top-level scripts and style. */
const CONSOLE_FILE = /^\/(?:[a-z][a-z0-9-]*\.(?:js|css))?$/;

export interface AdminConsoleOptions {
  /** Folder of index.html, style.css and the modules (default: web/admin-console at the repository's root). */
  dir?: string;
  /** Path of hls.min.js (default: resolved from the hls.js package). */
  hlsPath?: string;
  /** Path of tus.min.js (default: resolved from the tus-js-client package). */
  tusPath?: string;
}

export function defaultAdminConsoleDir(): string {
  // api/routes/admin-console/index.(ts|js) → web/admin-console (the same below dist/ in the image)
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web/admin-console');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The headers of every console file: its type, how long it may be cached, the console CSP. */
function consoleHeaders(file: string, cache: string): Record<string, string> {
  return {
    'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'Cache-Control': cache,
    'Content-Security-Policy': ADMIN_CONSOLE_CSP,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
  };
}

export function adminConsoleRouter(opts: AdminConsoleOptions = {}): Router {
  const dir = opts.dir ?? defaultAdminConsoleDir();
  const require = createRequire(import.meta.url);
  const vendor: Record<string, string> = {
    'hls.min.js': opts.hlsPath ?? require.resolve('hls.js/dist/hls.min.js'),
    'tus.min.js': opts.tusPath ?? require.resolve('tus-js-client/dist/tus.min.js'),
  };
  const files = express.static(dir, {
    index: 'index.html',
    redirect: false,
    dotfiles: 'ignore',
    cacheControl: false,
    setHeaders: (res, file) => {
      for (const [name, value] of Object.entries(consoleHeaders(file, 'no-cache')))
        res.setHeader(name, value);
    },
  });

  const r = Router({ strict: true, caseSensitive: true });
  r.get('/admin', (_req, res) => res.redirect(301, ADMIN_CONSOLE_PATH));
  for (const [name, file] of Object.entries(vendor))
    r.get(`${ADMIN_CONSOLE_PATH}vendor/${name}`, (_req, res, next) => {
      const headers = consoleHeaders(file, 'public, max-age=86400');
      res.sendFile(file, { cacheControl: false, headers }, (err) => {
        if (err) next(err);
      });
    });
  r.use(ADMIN_CONSOLE_PATH, (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !CONSOLE_FILE.test(req.path)) return next();
    files(req, res, next);
  });
  return r;
}
