/**
 * Cross-site request protection for cookie-authenticated unsafe requests.
 *
 * The unchanged frontend sends no CSRF token (the original relied on JWT cookies with
 * SameSite=Lax and DRF views that skip Django's CSRF check), and its cookies are HttpOnly, so a
 * token scheme (synchronizer or double-submit) would need frontend changes. We therefore use the
 * header-based defence OWASP lists for this case, layered on SameSite cookies:
 *
 * 1. Safe methods (GET, HEAD, OPTIONS) pass: they change nothing.
 * 2. `Sec-Fetch-Site: cross-site` is refused unless the Origin is trusted (fetch metadata).
 * 3. An `Origin` header must be a trusted origin: the configured CORS origins, the
 *    CSRF_TRUSTED_ORIGINS, the frontend's origin, or the API's own origin. Browsers send
 *    Origin on every cross-origin POST (and same-origin POSTs), so a forged form or fetch from
 *    another site carries a foreign origin and is refused, logins and registrations included
 *    (login CSRF).
 * 4. Without Origin, a Referer must point to a trusted origin (as Django checks it).
 * 5. With neither, the request can only come from a non-browser client or a privacy proxy: it is
 *    let through only when it carries no auth cookie (nothing ambient to abuse; Bearer clients
 *    and curl are unaffected), and refused otherwise.
 *
 * SameSite=Lax (the default, AUTH_COOKIE_SAMESITE) already keeps the cookies off cross-site
 * POSTs in current browsers; the check above covers same-site sibling origins, older browsers
 * and SameSite=None deployments. CORS (credentials only for the listed origins) keeps other
 * sites from reading any answer.
 */
import type { Request, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { ACCESS_COOKIE, REFRESH_COOKIE } from './authenticate.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

const csrfFailed = (reason: string) => new AppError(403, 'csrf_failed', `CSRF Failed: ${reason}`);

export function csrfProtection(trusted: string[]): RequestHandler {
  const trustedSet = new Set(trusted.map((o) => originOf(o)).filter((o): o is string => Boolean(o)));
  const isTrusted = (req: Request, origin: string) =>
    trustedSet.has(origin) || origin === `${req.protocol}://${req.get('host') ?? ''}`;

  return (req, _res, next) => {
    if (SAFE.has(req.method)) return next();
    const origin = req.get('origin');
    if (origin !== undefined) {
      if (origin !== 'null' && isTrusted(req, origin)) return next();
      return next(
        csrfFailed(`Origin checking failed - ${origin.slice(0, 100)} does not match any trusted origins.`),
      );
    }
    if (req.get('sec-fetch-site') === 'cross-site') {
      return next(csrfFailed('cross-site request refused.'));
    }
    const referer = req.get('referer');
    if (referer !== undefined) {
      const refOrigin = originOf(referer);
      if (refOrigin && isTrusted(req, refOrigin)) return next();
      return next(csrfFailed('Referer checking failed - the Referer does not match any trusted origins.'));
    }
    const cookies = (req.cookies ?? {}) as Record<string, unknown>;
    if (cookies[ACCESS_COOKIE] === undefined && cookies[REFRESH_COOKIE] === undefined) return next();
    return next(csrfFailed('Origin or Referer header required for cookie-authenticated requests.'));
  };
}
