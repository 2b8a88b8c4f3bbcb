/**
 * Streaming offload (issue 23): the API authorizes, the S3 server serves. In `offload` mode a variant
 * playlist lists same-origin presigned URLs (`/<media bucket>/<uid>/<res>/segment_NNN.ts?X-Amz-...`)
 * that the ingress routes, unchanged, to the S3 server, which checks each signature (path, Host,
 * expiry); the segment route of the original contract answers 302 to the same URL. Nothing here
 * does I/O.
 *
 * - Host: SigV4 covers the Host header, so a URL is signed for the Host the browser sent with the
 *   playlist request, and only when that host is allowed (STREAMING_HOSTS, default the host of
 *   PUBLIC_API_URL): never a URL for a host an attacker chose (421 instead).
 * - Time: URLs are signed at the start of the current window (a quarter of the TTL, at most 15 min),
 *   so every request in a window gets the same URLs: a playlist is signed once per window and host
 *   and then served from memory, and a player's cache keeps working across playlist reloads. A URL
 *   is valid for between TTL - window and TTL after it was handed out.
 */
import { S3Presigner, presignPath } from '../../common/storage/presign.js';
import { SEGMENT_PATTERN } from '../../common/video/index.js';

export type StreamingMode = 'proxy' | 'offload';

/** Longest signing window (seconds). */
export const MAX_WINDOW_SECONDS = 900;

/** `host[:port]` of an allow-list entry (a full URL is accepted too), lower case. */
export function normalizeHost(entry: string): string {
  const e = entry.trim().toLowerCase();
  if (!e.includes('://')) return e.replace(/\/+$/, '');
  try {
    return new URL(e).host;
  } catch {
    return e;
  }
}

/** The allow-list: STREAMING_HOSTS, or the host of the public URL when that is empty. */
export function streamingHosts(configured: readonly string[], publicApiUrl: string): Set<string> {
  const list = configured.length ? configured : [publicApiUrl];
  return new Set(list.map(normalizeHost).filter(Boolean));
}

/** The Host header as signed (trimmed), when it names an allowed host; undefined otherwise. */
export function allowedHost(header: string | undefined, allowed: ReadonlySet<string>): string | undefined {
  const h = header?.trim();
  return h && allowed.has(h.toLowerCase()) ? h : undefined;
}

/** Seconds of the signing window for a TTL: a quarter of it, 1 s .. MAX_WINDOW_SECONDS. */
export function windowSeconds(ttlSeconds: number): number {
  return Math.max(1, Math.min(MAX_WINDOW_SECONDS, Math.floor(ttlSeconds / 4)));
}

/** Each segment URI of a served media playlist (bare names: servedPlaylist) replaced by `urlOf(name)`. */
export function withSegmentUrls(served: string, urlOf: (segment: string) => string): string {
  return served
    .split('\n')
    .map((line) => {
      const t = line.trim();
      return t && !t.startsWith('#') && SEGMENT_PATTERN.test(t) ? urlOf(t) : line;
    })
    .join('\n');
}

export interface SegmentUrlOptions {
  presigner: S3Presigner;
  bucket: string;
  ttlSeconds: number;
  hosts: ReadonlySet<string>;
  now?: () => number;
}

/** Presigned same-origin URLs of media objects, for allowed hosts, in signing windows. */
export class SegmentUrls {
  readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly o: SegmentUrlOptions) {
    this.windowMs = windowSeconds(o.ttlSeconds) * 1000;
    this.now = o.now ?? Date.now;
  }

  /** The host to sign for, from the request's Host header; undefined: not allowed (421). */
  host(header: string | undefined): string | undefined {
    return allowedHost(header, this.o.hosts);
  }

  /** The start (ms) of the current signing window: the X-Amz-Date of every URL signed now. */
  windowStart(): number {
    const now = this.now();
    return now - (now % this.windowMs);
  }

  /** `/<bucket>/<key>?X-Amz-...` valid on `host` until windowStart + TTL. */
  url(host: string, key: string, windowStart = this.windowStart()): string {
    return this.o.presigner.presignGet({
      host,
      path: presignPath(this.o.bucket, key),
      date: new Date(windowStart),
      expiresSeconds: this.o.ttlSeconds,
    });
  }
}
