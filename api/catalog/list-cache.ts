/**
 * The users' list (`GET /api/video/`) serialised once per catalog state and shared by every
 * request: the body is the same for every signed-in user (its thumbnail signatures depend on the
 * video and the hour only, api/security/media-urls.ts), so it is built when the state changes and
 * sent as a Buffer otherwise.
 *
 * The state is (this process's write count, the table's fingerprint, the signatures' expiry). The
 * fingerprint (row count and latest updated_at, one small query per request) is what makes a
 * write of another API replica visible at once; as two writes in the same millisecond could leave
 * it unchanged, a body is also never older than `maxAgeMs` (default 30 s). Concurrent requests for
 * a state being built wait for that one build.
 */
import { createHash } from 'node:crypto';
import type { VideoListRow } from '../models/video.js';
import type { CatalogService } from './service.js';

export interface ListBody {
  body: Buffer;
  /** As Express makes it for a body (weak, length and SHA-1), so clients' validators stay valid. */
  etag: string;
}

export interface ReadyListCacheOptions {
  catalog: Pick<CatalogService, 'revision' | 'fingerprint' | 'listReadyRows'>;
  /** Rows → the JSON value to send. */
  render: (rows: VideoListRow[]) => unknown;
  /** Whatever else the body depends on (the signatures' expiry): a new value builds a new body. */
  variant: () => string | number;
  maxAgeMs?: number;
  now?: () => number;
}

/** Express's default ETag of a body (the `etag` package, weak). */
export function weakEtag(body: Buffer): string {
  if (body.length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  const hash = createHash('sha1').update(body).digest('base64').substring(0, 27);
  return `W/"${body.length.toString(16)}-${hash}"`;
}

export class ReadyListCache {
  private entry?: { key: string; at: number; value: ListBody };
  private pending?: { key: string; promise: Promise<ListBody> };
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  /** Bodies built so far (for tests and logs). */
  builds = 0;

  constructor(private readonly o: ReadyListCacheOptions) {
    this.now = o.now ?? Date.now;
    this.maxAgeMs = o.maxAgeMs ?? 30_000;
  }

  /** Drops the body in memory (the next request builds a new one). */
  clear(): void {
    this.entry = undefined;
  }

  async get(): Promise<ListBody> {
    const rev = this.o.catalog.revision;
    const key = `${rev}|${await this.o.catalog.fingerprint()}|${this.o.variant()}`;
    const e = this.entry;
    if (e && e.key === key && this.now() - e.at < this.maxAgeMs) return e.value;
    if (this.pending?.key === key) return this.pending.promise;
    const started = this.now();
    const promise = this.o.catalog.listReadyRows().then((rows) => {
      const body = Buffer.from(JSON.stringify(this.o.render(rows)), 'utf8');
      this.builds++;
      const value = { body, etag: weakEtag(body) };
      // a body of a state older than the one in memory is not kept
      if (this.o.catalog.revision === rev) this.entry = { key, at: started, value };
      return value;
    });
    const pending = { key, promise };
    this.pending = pending;
    const done = () => {
      if (this.pending === pending) this.pending = undefined;
    };
    promise.then(done, done);
    return promise;
  }
}
