/**
 * The two auth cookies, named as in the original. HttpOnly always; Secure from
 * AUTH_COOKIE_SECURE; SameSite from AUTH_COOKIE_SAMESITE (Lax by default, like the original).
 * Paths: the access token goes to `/` (every protected route, the HLS streams included); the
 * refresh token only to `/api/` by default, where refresh and logout live, so it travels with
 * as few requests as possible. Max-Age follows each token's expiry.
 */
import type { CookieOptions, Response } from 'express';
import type { ApiConfig } from '../../config.js';
import { ACCESS_COOKIE, REFRESH_COOKIE } from '../../middleware/authenticate.js';

function base(config: ApiConfig, path: string): CookieOptions {
  return {
    httpOnly: true,
    secure: config.AUTH_COOKIE_SECURE,
    sameSite: config.AUTH_COOKIE_SAMESITE,
    path,
    ...(config.AUTH_COOKIE_DOMAIN ? { domain: config.AUTH_COOKIE_DOMAIN } : {}),
  };
}

export function setAccessCookie(res: Response, config: ApiConfig, token: string, expiresAt: Date): void {
  res.cookie(ACCESS_COOKIE, token, { ...base(config, config.AUTH_COOKIE_ACCESS_PATH), expires: expiresAt });
}

export function setRefreshCookie(res: Response, config: ApiConfig, token: string, expiresAt: Date): void {
  res.cookie(REFRESH_COOKIE, token, { ...base(config, config.AUTH_COOKIE_REFRESH_PATH), expires: expiresAt });
}

export function clearAuthCookies(res: Response, config: ApiConfig): void {
  res.clearCookie(ACCESS_COOKIE, base(config, config.AUTH_COOKIE_ACCESS_PATH));
  res.clearCookie(REFRESH_COOKIE, base(config, config.AUTH_COOKIE_REFRESH_PATH));
}

export function refreshCookieOf(cookies: unknown): string | undefined {
  const v: unknown = (cookies as Record<string, unknown> | undefined)?.[REFRESH_COOKIE];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
