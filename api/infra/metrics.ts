/**
 * The API's Prometheus metrics (prom-client, its own registry), served by a server of their own on
 * METRICS_PORT (main.ts; never on the public app or the ingress). Every label has a bounded set of
 * values: routes are Express route templates (`/api/video/:id/master.m3u8`, never a raw path),
 * methods and reasons come from fixed lists or the error codes of api/errors.ts.
 *
 * | metric | labels | from |
 * |---|---|---|
 * | `videoflix_api_http_request_duration_seconds` (histogram), `videoflix_api_http_requests_total` | route, method, status | httpMetrics() |
 * | `videoflix_api_sign_ins_total` | result (success, failure), reason (error code) | httpMetrics(), POST /api/login/ |
 * | `videoflix_api_rate_limit_refusals_total` | limiter (budget name) | middleware/rate-limit.ts |
 * | `videoflix_api_upload_bytes_total`, `videoflix_api_upload_duration_seconds` | result | catalog/routes/upload.ts |
 * | `videoflix_api_streaming_bytes_total` | kind (playlist, segment) | httpMetrics(), by Content-Type |
 * | `videoflix_api_status_lag_seconds` (histogram), `videoflix_api_status_messages_total`, `videoflix_api_status_redeliveries_total`, `videoflix_api_status_consumer_connected` | outcome | infra/status-consumer.ts |
 * | `videoflix_api_db_pool_connections`, `videoflix_api_db_pool_waiting`, `videoflix_api_db_pool_max` | state (used, idle) | the Sequelize pool |
 * | process and Node.js defaults (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, …) | | prom-client |
 */
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sequelize } from 'sequelize';

const P = 'videoflix_api_';

export interface PoolStats {
  used: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface MetricsSources {
  /** The database pool now (undefined: not known, the gauges stay empty). */
  pool?: () => PoolStats | undefined;
  /** Whether the status consumer has a channel. */
  consumerConnected?: () => boolean | undefined;
}

export interface ApiMetrics {
  registry: Registry;
  httpDuration: Histogram<'route' | 'method' | 'status'>;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  signIns: Counter<'result' | 'reason'>;
  rateLimitRefusals: Counter<'limiter'>;
  uploadBytes: Counter<'result'>;
  uploadDuration: Histogram<'result'>;
  /** Resumable (tus) uploads: created, resumed (a HEAD: a client asking where to resume), completed, refused (not a video), expired. */
  resumableUploads: Counter<'event'>;
  streamingBytes: Counter<'kind'>;
  statusLag: Histogram;
  statusMessages: Counter<'outcome'>;
  statusRedeliveries: Counter;
  /** Sources read at scrape time (set after creation: the pool and the consumer exist later). */
  sources: MetricsSources;
}

export function createApiMetrics(
  opts: { defaultMetrics?: boolean; sources?: MetricsSources } = {},
): ApiMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const sources: MetricsSources = { ...opts.sources };
  const registers = [registry];
  new Gauge({
    name: `${P}db_pool_connections`,
    help: 'Database connections of the pool by state (used by a query or transaction, idle)',
    labelNames: ['state'],
    registers,
    collect() {
      const s = sources.pool?.();
      if (!s) return;
      this.set({ state: 'used' }, s.used);
      this.set({ state: 'idle' }, s.idle);
    },
  });
  new Gauge({
    name: `${P}db_pool_waiting`,
    help: 'Requests waiting for a database connection',
    registers,
    collect() {
      const s = sources.pool?.();
      if (s) this.set(s.waiting);
    },
  });
  new Gauge({
    name: `${P}db_pool_max`,
    help: 'Largest size of the database pool (DATABASE_POOL_MAX)',
    registers,
    collect() {
      const s = sources.pool?.();
      if (s) this.set(s.max);
    },
  });
  new Gauge({
    name: `${P}status_consumer_connected`,
    help: '1 while the status consumer has a channel to RabbitMQ',
    registers,
    collect() {
      const c = sources.consumerConnected?.();
      if (c !== undefined) this.set(c ? 1 : 0);
    },
  });
  return {
    registry,
    sources,
    httpDuration: new Histogram({
      name: `${P}http_request_duration_seconds`,
      help: 'Time to answer a request (to the last byte handed to the socket), by route template, method and status (499: the client went away first)',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    httpRequests: new Counter({
      name: `${P}http_requests_total`,
      help: 'Requests answered, by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    signIns: new Counter({
      name: `${P}sign_ins_total`,
      help: 'Sign-ins (POST /api/login/) by result; failures by reason (the error code: invalid_credentials, throttled, validation_failed, …)',
      labelNames: ['result', 'reason'],
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: `${P}rate_limit_refusals_total`,
      help: 'Requests refused with 429 by a rate limit, by limiter (budget)',
      labelNames: ['limiter'],
      registers,
    }),
    uploadBytes: new Counter({
      name: `${P}upload_bytes_total`,
      help: 'Bytes of uploaded video files received, by result of the upload',
      labelNames: ['result'],
      registers,
    }),
    resumableUploads: new Counter({
      name: `${P}resumable_uploads_total`,
      help: 'Resumable (tus) admin uploads by event: created, resumed (a HEAD: a client asking where to resume), completed, refused, expired',
      labelNames: ['event'],
      registers,
    }),
    uploadDuration: new Histogram({
      name: `${P}upload_duration_seconds`,
      help: 'Duration of admin uploads (POST /api/admin/videos/) by result (accepted, refused, failed, abandoned)',
      labelNames: ['result'],
      buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    }),
    streamingBytes: new Counter({
      name: `${P}streaming_bytes_total`,
      help: 'HLS bytes answered by the API (Content-Length of complete 200/206 answers), by kind (playlist, segment)',
      labelNames: ['kind'],
      registers,
    }),
    statusLag: new Histogram({
      name: `${P}status_lag_seconds`,
      help: 'Seconds from the operator observing a status to the catalog applying it (handled messages)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    statusMessages: new Counter({
      name: `${P}status_messages_total`,
      help: 'Status messages consumed, by outcome (handled, requeued, dead_lettered)',
      labelNames: ['outcome'],
      registers,
    }),
    statusRedeliveries: new Counter({
      name: `${P}status_redeliveries_total`,
      help: 'Status messages delivered again by the broker (redelivered flag set)',
      registers,
    }),
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The method as a label: the usual seven, anything else `other` (methods are client input). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

/** The route label when no route matched (404s, static files of the console, CORS preflights). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The template of a matched route: the router's mount (the leading segments of the request's path
 * that the route's own path does not cover, lower-cased: Express matches them case-insensitively) +
 * the route's path as declared. Computed from the path rather than `req.baseUrl`, which Express
 * restores to the parent's when an error leaves a router. The app's routes have no wildcards.
 */
export function routeTemplate(path: string, routePath: unknown): string {
  const route = typeof routePath === 'string' ? routePath : String(routePath);
  const segments = (p: string) => p.replace(/\/+$/, '').split('/').slice(1);
  const full = segments(path.split('?')[0] ?? '');
  const own = segments(route);
  const mount = full.slice(0, Math.max(0, full.length - own.length));
  return `${mount.length ? `/${mount.join('/').toLowerCase()}` : ''}${route}`;
}

/** HLS by the Content-Type of the answer (the original contract's two types), else undefined. */
export function streamKind(contentType: unknown): 'playlist' | 'segment' | undefined {
  const t = String(contentType ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (t === 'application/vnd.apple.mpegurl') return 'playlist';
  if (t === 'video/mp2t') return 'segment';
  return undefined;
}

/**
 * The status label of a request whose connection closed before its answer was complete (the client
 * went away): 499, as nginx logs it, so that clients leaving never count as the API's errors.
 */
export const CLIENT_CLOSED = '499';

/** The sign-in route, as routeTemplate() names it. */
export const SIGN_IN_ROUTE = '/api/login/';

/** A sign-in's labels from its answer: 2xx success, else failure with the error code (or the status). */
export function signInOutcome(status: number, errorCode: unknown): { result: string; reason: string } {
  if (status >= 200 && status < 300) return { result: 'success', reason: '' };
  const reason =
    typeof errorCode === 'string' && /^[a-z_]{1,40}$/.test(errorCode) ? errorCode : `http_${status}`;
  return { result: 'failure', reason };
}

/**
 * Middleware (first in the app): the request's duration and count by route template, method and
 * status; the sign-ins; the HLS bytes answered (the Content-Length of a complete 200/206 GET answer).
 * It adds two listeners per request and nothing else to it: no wrapped methods, no properties (an
 * accessor on `req` made V8 deoptimise Express's hot paths: bench/metrics.ts).
 */
export function httpMetrics(m: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      const complete = res.writableFinished;
      const route = req.route
        ? routeTemplate(req.originalUrl, (req.route as { path?: unknown }).path)
        : UNMATCHED_ROUTE;
      const labels = {
        route,
        method: methodLabel(req.method),
        status: complete ? String(res.statusCode) : CLIENT_CLOSED,
      };
      m.httpDuration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
      m.httpRequests.inc(labels);
      if (route === SIGN_IN_ROUTE && req.method === 'POST')
        m.signIns.inc(signInOutcome(res.statusCode, res.locals.errorCode));
      if (complete && req.method === 'GET' && (res.statusCode === 200 || res.statusCode === 206)) {
        const kind = streamKind(res.getHeader('content-type'));
        const bytes = Number(res.getHeader('content-length'));
        if (kind && bytes > 0) m.streamingBytes.inc({ kind }, bytes);
      }
    };
    res.on('finish', finished);
    res.on('close', finished); // closed before the answer was complete: CLIENT_CLOSED
    next();
  };
}

/** The Sequelize pool's state (sequelize-pool: size, available, using, waiting), undefined when not there. */
export function poolStatsOf(sequelize: Sequelize): PoolStats | undefined {
  const pool = (
    sequelize as unknown as {
      connectionManager?: {
        pool?: { size?: unknown; available?: unknown; using?: unknown; waiting?: unknown; maxSize?: unknown };
      };
    }
  ).connectionManager?.pool;
  if (!pool || typeof pool.using !== 'number' || typeof pool.available !== 'number') return undefined;
  return {
    used: pool.using,
    idle: pool.available,
    waiting: typeof pool.waiting === 'number' ? pool.waiting : 0,
    max: typeof pool.maxSize === 'number' ? pool.maxSize : 0,
  };
}
