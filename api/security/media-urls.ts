/**
 * Signed thumbnail URLs. `thumbnail_url` in the list must work for the signed-in user wherever the
 * frontend puts it, including an `<img>` on another site, where SameSite cookies are not sent: so the
 * URL carries its own short-lived proof (HMAC-SHA256 over id and expiry, key derived from JWT_SECRET).
 * Expiries are rounded up to the hour, so a URL stays the same (and cacheable) for an hour at least;
 * the signatures of the current expiry are memoised (one HMAC per id and hour, not per list row
 * and request), at most `memoMax` of them (beyond that the oldest are signed again when asked).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const BUCKET_SECONDS = 3600;

export class MediaUrlSigner {
  /** Signatures for `memoExp`, by id (insertion order: the oldest first). */
  private memo = new Map<number, string>();
  private memoExp = 0;

  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
    private readonly memoMax = 100_000,
  ) {}

  private mac(id: number, exp: number): string {
    if (exp !== this.memoExp) {
      this.memo = new Map(); // a new hour: the signatures of the last one are no longer handed out
      this.memoExp = exp;
    }
    let sig = this.memo.get(id);
    if (sig === undefined) {
      sig = this.compute(id, exp);
      if (this.memo.size >= this.memoMax) this.memo.delete(this.memo.keys().next().value!);
      this.memo.set(id, sig);
    }
    return sig;
  }

  private compute(id: number, exp: number): string {
    return createHmac('sha256', this.key).update(`thumbnail:${id}:${exp}`).digest('base64url');
  }

  /** Signatures memoised (for tests). */
  get memoised(): number {
    return this.memo.size;
  }

  /** The expiry (seconds since the epoch) that `sign` puts into URLs now: the same for an hour. */
  expiry(): number {
    const earliest = Math.floor(this.now() / 1000) + this.ttlSeconds;
    return Math.ceil(earliest / BUCKET_SECONDS) * BUCKET_SECONDS;
  }

  /** Query string (`exp=…&sig=…`) granting the thumbnail of video `id` until the expiry. */
  sign(id: number): string {
    const exp = this.expiry();
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
    // what the list handed out is memoised; anything else (other expiries, other ids) is computed
    // without entering the memo, so requests cannot fill or flush it
    const memoised = expiry === this.memoExp ? this.memo.get(id) : undefined;
    const want = Buffer.from(memoised ?? this.compute(id, expiry));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
