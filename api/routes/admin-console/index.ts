/**
 * The admin console (issue 15): the Django admin's replacement for uploads, served by the API at /admin/.
 *
 * Static files only (api/admin-console/: index.html, app.js, style.css; no framework, no build step) plus
 * hls.js from node_modules (a production dependency, so the API image has it; no CDN). The page talks to the
 * API's own routes on the same origin with the auth cookies (POST /api/login/, /api/admin/videos/, the HLS
 * routes), so CSRF's Origin check passes as for any same-origin request.
 *
 * Every answer carries a strict Content-Security-Policy of its own (no inline script or style; media and the
 * hls.js worker from blob: URLs, which Media Source Extensions need), replacing helmet's default one.
 * Files are read once when the router is made: they are small and never change in a running process.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';

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

/** The console's files: URL path under /admin/ → file on disk and content type. */
const FILES: Record<string, { file: string; type: string; cache: string }> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8', cache: 'no-cache' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8', cache: 'no-cache' },
  'style.css': { file: 'style.css', type: 'text/css; charset=utf-8', cache: 'no-cache' },
  'vendor/hls.min.js': {
    file: '@hls',
    type: 'text/javascript; charset=utf-8',
    cache: 'public, max-age=86400',
  },
};

export interface AdminConsoleOptions {
  /** Folder of index.html, app.js and style.css (default: api/admin-console next to this module's tree). */
  dir?: string;
  /** Path of hls.min.js (default: resolved from the hls.js package). */
  hlsPath?: string;
}

export function defaultAdminConsoleDir(): string {
  // api/routes/admin-console/index.(ts|js) → api/admin-console (the same in dist/)
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../admin-console');
}

export function adminConsoleRouter(opts: AdminConsoleOptions = {}): Router {
  const dir = opts.dir ?? defaultAdminConsoleDir();
  const hlsPath = opts.hlsPath ?? createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
  const bodies = new Map<string, Buffer>();
  for (const [urlPath, f] of Object.entries(FILES)) {
    bodies.set(urlPath, readFileSync(f.file === '@hls' ? hlsPath : path.join(dir, f.file)));
  }

  const send = (res: Response, urlPath: string, head: boolean) => {
    const f = FILES[urlPath]!;
    const body = bodies.get(urlPath)!;
    res.set('Content-Type', f.type);
    res.set('Content-Length', String(body.length));
    res.set('Cache-Control', f.cache);
    res.set('Content-Security-Policy', ADMIN_CONSOLE_CSP);
    res.set('X-Frame-Options', 'DENY');
    res.set('Referrer-Policy', 'same-origin');
    res.status(200).end(head ? undefined : body);
  };

  const r = Router({ strict: true, caseSensitive: true });
  r.get('/admin', (_req, res) => res.redirect(301, ADMIN_CONSOLE_PATH));
  for (const urlPath of Object.keys(FILES)) {
    r.get(`${ADMIN_CONSOLE_PATH}${urlPath}`, (req, res) => send(res, urlPath, req.method === 'HEAD'));
  }
  return r;
}
