/**
 * Object storage pieces shared by the api, the operator and the transcoder: the S3 client (any
 * S3-compatible store, path-style, region known so the client never asks the server for it), the
 * content types of the files in the media bucket, and credential-free error descriptions.
 */
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Client, S3Error } from 'minio';
import { backoffSchedule } from '../backoff/index.js';
import type { StorageConfig } from '../config/index.js';

export type StorageSettings = Pick<
  StorageConfig,
  'S3_ENDPOINT' | 'S3_REGION' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY'
> &
  Partial<Pick<StorageConfig, 'S3_TIMEOUT_MS'>>;

export const DEFAULT_S3_TIMEOUT_MS = 30_000;

/** A request to the store saw no byte for `S3_TIMEOUT_MS` (connect, answer, or mid-stream). */
/** An object-storage operation that failed (the message says which, without credentials). */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export class StorageTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no answer from object storage within ${ms} ms`);
    this.name = 'StorageTimeoutError';
  }
}

/**
 * minio's transport (node's http/https `request`) with an idle timeout on every request: a socket
 * silent for `ms` (connecting, waiting for the answer, or in the middle of a streamed body) is
 * destroyed, so the call rejects and a response stream being read errors. An idle bound, not a
 * total one: a large object streams for as long as bytes keep flowing.
 */
export function timeoutTransport(
  base: Pick<typeof http, 'request'>,
  ms: number,
): Pick<typeof http, 'request'> {
  const request = ((...args: Parameters<typeof http.request>) => {
    const req = (base.request as typeof http.request)(...args);
    req.setTimeout(ms, () => req.destroy(new StorageTimeoutError(ms)));
    return req;
  }) as typeof http.request;
  return { request };
}

/**
 * The minio client for an endpoint URL (http or https, optional port). `transport` (the API's, which
 * adds the request's AbortSignal) replaces node's http/https module underneath the idle timeout:
 * the S3_TIMEOUT_MS bound applies whatever the transport.
 */
export function createS3Client(
  cfg: StorageSettings,
  opts: { partSize?: number; transport?: Pick<typeof http, 'request'> } = {},
): Client {
  const url = new URL(cfg.S3_ENDPOINT);
  const useSSL = url.protocol === 'https:';
  const base = opts.transport ?? (useSSL ? https : http);
  return new Client({
    transport: timeoutTransport(base, cfg.S3_TIMEOUT_MS ?? DEFAULT_S3_TIMEOUT_MS),
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    region: cfg.S3_REGION,
    accessKey: cfg.S3_ACCESS_KEY,
    secretKey: cfg.S3_SECRET_KEY,
    pathStyle: true,
    ...(opts.partSize ? { partSize: opts.partSize } : {}),
  });
}

/** Content types of the files the platform writes and serves (the original backend's types). */
export const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/MP2T',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);

/** A missing object or bucket (as opposed to refused credentials or an unreachable server). */
export function isNotFound(err: unknown): boolean {
  return err instanceof S3Error && NOT_FOUND.has(err.code ?? '');
}

/** A short, credential-free description of a storage failure. */
export function describeStorageError(err: unknown): string {
  if (err instanceof S3Error) {
    const code = err.code ?? 'S3Error';
    const msg = err.message && err.message !== code ? `: ${err.message}` : '';
    return `${code}${msg}`;
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  const message = e instanceof Error ? e.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** Connection errors of a Pod's first contact with the S3 server that are worth retrying (withConnectRetry). */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
]);
/** The pauses between tries of a first contact (~30 s in all). */
export const CONNECT_RETRY_DELAYS_MS: readonly number[] = backoffSchedule(6, 500, 15_000);

/**
 * Runs `fn` (a Pod's first S3 request), retrying a refused or unreachable connection after each of
 * `delaysMs`: a new Pod's first packets can be rejected until the NetworkPolicy enforcer has admitted its
 * address (seen with kube-router on kind), and a just-restarted S3 server refuses for a moment. Any other
 * error, or the last one, is thrown as it is.
 */
export async function withConnectRetry<T>(
  fn: () => Promise<T>,
  delaysMs: readonly number[] = CONNECT_RETRY_DELAYS_MS,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (attempt < delaysMs.length && typeof code === 'string' && CONNECT_ERRORS.has(code)) {
        await new Promise((r) => setTimeout(r, delaysMs[attempt]));
        continue;
      }
      throw err;
    }
  }
}
