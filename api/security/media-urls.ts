/**
 * Signed thumbnail URLs. `thumbnail_url` in the list must work for the signed-in user wherever the
 * frontend puts it, including an `<img>` on another site, where SameSite cookies are not sent: so the
 * URL carries its own short-lived proof (HMAC-SHA256 over id and expiry, key derived from JWT_SECRET).
 * Expiries are rounded up to the hour, so a URL stays the same (and cacheable) for an hour at least.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const BUCKET_SECONDS = 3600;

export class MediaUrlSigner {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  private mac(id: number, exp: number): string {
    return createHmac('sha256', this.key).update(`thumbnail:${id}:${exp}`).digest('base64url');
  }

  /** Query string (`exp=…&sig=…`) granting the thumbnail of video `id` until the expiry. */
  sign(id: number): string {
    const earliest = Math.floor(this.now() / 1000) + this.ttlSeconds;
    const exp = Math.ceil(earliest / BUCKET_SECONDS) * BUCKET_SECONDS;
    return `exp=${exp}&sig=${this.mac(id, exp)}`;
  }

  verify(id: number, exp: unknown, sig: unknown): boolean {
    if (
      typeof exp !== 'string' ||
      typeof sig !== 'string' ||
      !/^\d{1,12}$/.test(exp) ||
      !/^[A-Za-z0-9_-]{43}$/.test(sig)
    )
      return false;
    const expiry = Number(exp);
    if (expiry * 1000 <= this.now()) return false;
    const want = Buffer.from(this.mac(id, expiry));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
