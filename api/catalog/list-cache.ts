/**
 * The users' list (`GET /api/video/`) serialised once per catalog state and shared by every
 * request: the body is the same for every signed-in user (its thumbnail signatures depend on the
 * video and the hour only, api/security/media-urls.ts), so it is built when the state changes and
 * sent as a Buffer otherwise. Its compressed forms (brotli, gzip) are made once per body too, on
 * the first request that asks for each, off the event loop (zlib's thread pool); a rebuilt body
 * with the same bytes (the `maxAgeMs` rebuild of an unchanged catalog) keeps them.
 *
 * The state is (this process's write count, the change feed's generation, the table's fingerprint,
 * the signatures' expiry). A write of another API replica (or of anyone) becomes visible through the
 * change feed (changes.ts: the table's triggers NOTIFY every replica at commit); while the feed
 * listens, the fingerprint (row count and latest updated_at, one small query) is asked at most once
 * per `recheckMs` (default 5 s: the bound on staleness should a notification ever go missing); while
 * it does not (no feed, its session lost), on every request. As two writes in the same millisecond
 * could leave the fingerprint unchanged, a body is also never older than `maxAgeMs` (default 30 s).
 * Concurrent requests for a state being built wait for that one build.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import Negotiator from 'negotiator';
import type { VideoListRow } from '../models/video.js';
import type { ChangeFeed } from './changes.js';
import type { CatalogService } from './service.js';

/** The content codings the list is sent in, the preferred first (at equal q-values). */
export const LIST_ENCODINGS = ['br', 'gzip', 'identity'] as const;
export type ListEncoding = (typeof LIST_ENCODINGS)[number];

/**
 * Brotli quality 5 and gzip level 6: on a 10,000-row list (3.0 MB) brotli 4 → 470 KB in 23 ms,
 * 5 → 419 KB in 44 ms, 6-9 → 418-419 KB in 60-126 ms, 10-11 → 400-414 KB in 3.2-5.8 s; gzip 6 →
 * 530 KB in 25 ms (measured in one process on the 2-core VM under load; bench/README.md).
 */
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

export interface ListBody {
  body: Buffer;
  /** As Express makes it for a body (weak, length and SHA-1), so clients' validators stay valid. */
  etag: string;
}

/** The body as sent in one content coding; `etag` is that of the bytes sent (one per coding). */
export interface EncodedListBody extends ListBody {
  encoding: ListEncoding;
}

export interface ReadyListCacheOptions {
  catalog: Pick<CatalogService, 'revision' | 'fingerprint' | 'listReadyRows'>;
  /** Rows → the JSON value to send. */
  render: (rows: VideoListRow[]) => unknown;
  /** Whatever else the body depends on (the signatures' expiry): a new value builds a new body. */
  variant: () => string | number;
  /** The videos table's change notifications (absent: the fingerprint is asked on every request). */
  changes?: ChangeFeed;
  maxAgeMs?: number;
  /** While `changes` listens: how long a fingerprint is trusted (default 5000 ms). */
  recheckMs?: number;
  now?: () => number;
}

/** Express's default ETag of a body (the `etag` package, weak). */
export function weakEtag(body: Buffer): string {
  if (body.length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  const hash = createHash('sha1').update(body).digest('base64').substring(0, 27);
  return `W/"${body.length.toString(16)}-${hash}"`;
}

/**
 * The coding to send for an Accept-Encoding header: the highest q-value the client gives among
 * br, gzip and identity, br first at equal q (`*` counts); identity when it names none of them
 * (or refuses them all: RFC 9110 lets the server send identity then).
 */
export function chooseEncoding(acceptEncoding: string | undefined): ListEncoding {
  const headers = acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding };
  // negotiator 1.x takes the server's order for ties as an option its @types (0.6) do not declare
  const negotiator = new Negotiator({ headers }) as unknown as NegotiatorWithPreferred;
  const best = negotiator.encoding(LIST_ENCODINGS, { preferred: LIST_ENCODINGS });
  return (best as ListEncoding | undefined) ?? 'identity';
}

interface NegotiatorWithPreferred {
  encoding(available: readonly string[], options: { preferred: readonly string[] }): string | undefined;
}

async function encode(body: Buffer, encoding: Exclude<ListEncoding, 'identity'>): Promise<EncodedListBody> {
  const out =
    encoding === 'br'
      ? await brotli(body, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
            [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
          },
        })
      : await gzip(body, { level: GZIP_LEVEL });
  return { body: out, etag: weakEtag(out), encoding };
}

/** One body and its compressed forms, each made once, when first asked for. */
class Entry {
  private readonly encoded = new Map<ListEncoding, Promise<EncodedListBody>>();
  readonly identity: EncodedListBody;

  constructor(value: ListBody, previous?: Entry) {
    this.identity = { ...value, encoding: 'identity' };
    // the same bytes as the body before (an unchanged catalog rebuilt after maxAgeMs): same encodings
    if (previous?.identity.etag === value.etag) for (const [k, v] of previous.encoded) this.encoded.set(k, v);
  }

  get(encoding: ListEncoding): Promise<EncodedListBody> {
    if (encoding === 'identity') return Promise.resolve(this.identity);
    let p = this.encoded.get(encoding);
    if (!p) {
      p = encode(this.identity.body, encoding);
      this.encoded.set(encoding, p);
      p.catch(() => this.encoded.delete(encoding)); // not kept: the next request tries again
    }
    return p;
  }
}

export class ReadyListCache {
  private entry?: { key: string; at: number; value: Entry };
  private pending?: { key: string; promise: Promise<Entry> };
  private fp?: { at: number; value: Promise<string> };
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private readonly recheckMs: number;
  /** Bodies built so far (for tests and logs). */
  builds = 0;

  constructor(private readonly o: ReadyListCacheOptions) {
    this.now = o.now ?? Date.now;
    this.maxAgeMs = o.maxAgeMs ?? 30_000;
    this.recheckMs = o.recheckMs ?? 5000;
  }

  /** Drops the body in memory (the next request builds a new one). */
  clear(): void {
    this.entry = undefined;
  }

  /** The current body in `encoding` (default identity: the JSON as res.json would send it). */
  async get(encoding: ListEncoding = 'identity'): Promise<EncodedListBody> {
    return (await this.current()).get(encoding);
  }

  /** The table's fingerprint: asked now, or (while the change feed listens) one asked < recheckMs ago. */
  private fingerprint(): Promise<string> {
    if (!this.o.changes?.listening) return this.o.catalog.fingerprint();
    const at = this.now();
    if (this.fp && at - this.fp.at < this.recheckMs) return this.fp.value;
    const fp = { at, value: this.o.catalog.fingerprint() };
    this.fp = fp;
    fp.value.catch(() => {
      if (this.fp === fp) this.fp = undefined; // a failed query is asked again by the next request
    });
    return fp.value;
  }

  private async current(): Promise<Entry> {
    const rev = this.o.catalog.revision;
    const generation = this.o.changes?.generation ?? 0;
    const key = `${rev}|${generation}|${await this.fingerprint()}|${this.o.variant()}`;
    const e = this.entry;
    if (e && e.key === key && this.now() - e.at < this.maxAgeMs) return e.value;
    if (this.pending?.key === key) return this.pending.promise;
    const started = this.now();
    const promise = this.o.catalog.listReadyRows().then((rows) => {
      const body = Buffer.from(JSON.stringify(this.o.render(rows)), 'utf8');
      this.builds++;
      const value = new Entry({ body, etag: weakEtag(body) }, this.entry?.value);
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
