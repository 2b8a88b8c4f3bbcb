// Over 300 lines: the one schema of every API setting, each documented where it is declared.
/**
 * API configuration: every setting comes from the environment, validated once at start.
 * `.env.example` at the repository root documents each variable.
 */
import { amqpSchema, env, loggingSchema, storageSchema, z } from '../common/config/index.js';
import { DEFAULT_METRICS_PORT } from '../common/metrics/index.js';
import { MAX_PRESIGN_SECONDS } from '../common/storage/presign.js';

/** Secrets known to be placeholders: refused in production. */
const PLACEHOLDER_SECRETS = new Set([
  'changeme',
  'change-me',
  'secret',
  'dev-secret',
  'your_secret_key',
  'insecure-dev-secret-change-me',
]);
export const MIN_SECRET_LENGTH = 32;
/** Used outside production when JWT_SECRET is unset (never valid in production). */
export const DEV_JWT_SECRET = 'insecure-dev-secret-change-me';

const sameSite = z
  .enum(['strict', 'lax', 'none', 'Strict', 'Lax', 'None'])
  .default('lax')
  .transform((v) => v.toLowerCase() as 'strict' | 'lax' | 'none');

/** A path template for mail links: must contain {uid} and {token}. */
const linkTemplate = (def: string) =>
  z
    .string()
    .default(def)
    .refine((v) => v.includes('{uid}') && v.includes('{token}'), 'must contain {uid} and {token}');

/** The frontend of a development machine: trusted by default only outside production. */
export const DEV_FRONTEND_ORIGIN = 'http://localhost:4200';

/** bcrypt cost factor: 4..31 accepted by bcrypt; production refuses less than this (ASVS 11.4.2). */
export const MIN_PRODUCTION_BCRYPT_COST = 10;
export const bcryptCostSchema = z.coerce.number().int().min(4).max(31).default(12);

/** The message when a BCRYPT_COST is too low for NODE_ENV (undefined when it is fine). */
export function bcryptCostProblem(nodeEnv: string, cost: number): string | undefined {
  return nodeEnv === 'production' && cost < MIN_PRODUCTION_BCRYPT_COST
    ? `at least ${MIN_PRODUCTION_BCRYPT_COST} when NODE_ENV=production (lower costs are for tests only)`
    : undefined;
}

/** Durations in seconds. */
const seconds = (def: number) => z.coerce.number().int().positive().default(def);
/** A rate-limit budget: requests (or failures) per window. */
const budget = (def: number) => z.coerce.number().int().positive().default(def);

const apiFields = z
  .object({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    HOST: env.str('0.0.0.0'),
    PORT: env.port(8000),
    /** Prometheus /metrics on a server of its own (HOST, this port; never the app's port); 0 = off. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_METRICS_PORT),
    /** Express "trust proxy" setting: a hop count, or a comma-separated list of addresses/subnets. */
    TRUST_PROXY: z.string().default('loopback'),
    PUBLIC_API_URL: env.url('http://127.0.0.1:8000'),

    DATABASE_URL: env.str(),
    DATABASE_POOL_MAX: env.int(10),
    DATABASE_SSL: env.bool(false),

    JWT_SECRET: z.string().optional(),
    JWT_ISSUER: env.str('videoflix-api'),
    JWT_AUDIENCE: env.str('videoflix'),
    ACCESS_TOKEN_TTL: seconds(15 * 60),
    REFRESH_TOKEN_TTL: seconds(7 * 24 * 3600),
    /** Absolute lifetime of a login session, however often it is refreshed (ASVS 7.3.2). */
    SESSION_MAX_AGE: seconds(30 * 24 * 3600),
    /** How often expired and revoked sessions are deleted (a day after they ended). */
    SESSION_PURGE_INTERVAL: seconds(3600),
    PASSWORD_RESET_TOKEN_TTL: seconds(24 * 3600),
    /**
     * Two tabs refreshing with the same token within this many seconds of its rotation get the same
     * successor instead of revoking the session (0: no grace).
     */
    REFRESH_GRACE_SECONDS: z.coerce.number().int().min(0).max(60).default(10),
    ACTIVATION_TOKEN_TTL: seconds(3 * 24 * 3600),
    BCRYPT_COST: bcryptCostSchema,
    /**
     * The original answered the activation token in POST /api/register/; by default the `token` key
     * holds a random value that activates nothing (only the mailed link does). True restores it.
     */
    REGISTER_RETURNS_ACTIVATION_TOKEN: env.bool(false),

    /** Required in production; elsewhere the development frontend (http://localhost:4200). */
    FRONTEND_URL: z.string().url().optional(),
    ACTIVATION_PATH: linkTemplate('/activate/index.html?uid={uid}&token={token}'),
    PASSWORD_RESET_PATH: linkTemplate('/reset-password?uid={uid}&token={token}'),

    /** Secure cookies by default; false (plain HTTP) is a development setting. */
    AUTH_COOKIE_SECURE: env.bool(true),
    /** With NODE_ENV=production, AUTH_COOKIE_SECURE=false is refused unless this is true as well. */
    AUTH_COOKIE_ALLOW_INSECURE: env.bool(false),
    AUTH_COOKIE_SAMESITE: sameSite,
    AUTH_COOKIE_DOMAIN: z.string().optional(),
    AUTH_COOKIE_ACCESS_PATH: z.string().startsWith('/').default('/'),
    AUTH_COOKIE_REFRESH_PATH: z.string().startsWith('/').default('/api/'),

    /** Unset: the development frontend outside production, none in production. */
    CORS_ALLOWED_ORIGINS: z.string().optional(),
    CSRF_TRUSTED_ORIGINS: env.list(''),

    SMTP_HOST: env.str('127.0.0.1'),
    SMTP_PORT: env.port(1025),
    SMTP_SECURE: env.bool(false),
    SMTP_REQUIRE_TLS: env.bool(false),
    SMTP_USER: z.string().optional(),
    SMTP_PASSWORD: z.string().optional(),
    SMTP_TIMEOUT_MS: env.int(10_000),
    MAIL_FROM: env.str('Videoflix <noreply@videoflix.local>'),

    /** The window of every rate limit (fixed windows, counted in PostgreSQL: see middleware/rate-limit.ts). */
    RATE_LIMIT_WINDOW_SECONDS: seconds(15 * 60),
    /** Failed sign-ins per window per (account, client address). */
    RATE_LIMIT_LOGIN_MAX: budget(10),
    /** Failed sign-ins per window per client address, whatever the account. */
    RATE_LIMIT_LOGIN_IP_MAX: budget(50),
    /** Failed sign-ins of one account (from any address) after which its sign-ins are slowed down. */
    RATE_LIMIT_LOGIN_SLOWDOWN_AFTER: budget(5),
    /** First wait of the slow-down; it doubles with every further failure, up to the maximum. */
    RATE_LIMIT_LOGIN_SLOWDOWN_BASE_MS: z.coerce.number().int().min(0).default(500),
    RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS: z.coerce.number().int().min(0).default(10_000),
    /** Registrations per window per client address. */
    RATE_LIMIT_REGISTER_MAX: budget(10),
    /** Password-reset requests (mails) per window per client address. */
    RATE_LIMIT_PASSWORD_RESET_MAX: budget(5),
    /** Failed password-reset confirmations per window per client address. */
    RATE_LIMIT_PASSWORD_CONFIRM_MAX: budget(10),
    /** Wrong old passwords on password_change per window, per account and per client address. */
    RATE_LIMIT_PASSWORD_CHANGE_MAX: budget(5),
    /** Failed activations per window per client address. */
    RATE_LIMIT_ACTIVATION_MAX: budget(10),
    /** Failed token refreshes per window per client address. */
    RATE_LIMIT_REFRESH_MAX: budget(30),
    /** A rate-limit store call slower than this counts as a store outage (per-route fallback). */
    RATE_LIMIT_STORE_TIMEOUT_MS: z.coerce.number().int().min(10).default(2000),
    BODY_LIMIT: env.str('16kb'),
    /**
     * Time allowed for a request to be answered (every route but the upload, which has
     * UPLOAD_REQUEST_TIMEOUT_SECONDS): 503 (408 while the body is still arriving) after that.
     */
    REQUEST_TIMEOUT_SECONDS: seconds(30),

    /** After SIGTERM, keep serving (readiness already 503) this long so load balancers stop routing here. */
    SHUTDOWN_DELAY_MS: env.int(0),
    SHUTDOWN_GRACE_MS: env.int(10_000),
    /** How long /readyz reuses its check of the database schema (applied migrations vs the code's). */
    SCHEMA_CHECK_CACHE_MS: env.int(10_000),
  })
  .extend(loggingSchema.shape);

/** Every variable the API reads (the .env.example documents each). */
export const API_VARIABLES = Object.keys(apiFields.shape);

const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export const apiSchema = apiFields
  .transform((c) => {
    const production = c.NODE_ENV === 'production';
    return {
      ...c,
      FRONTEND_URL: c.FRONTEND_URL ?? (production ? '' : DEV_FRONTEND_ORIGIN),
      CORS_ALLOWED_ORIGINS: splitList(c.CORS_ALLOWED_ORIGINS ?? (production ? '' : DEV_FRONTEND_ORIGIN)),
    };
  })
  .superRefine((c, ctx) => {
    if (!c.FRONTEND_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['FRONTEND_URL'],
        message: 'required when NODE_ENV=production (the origin of the frontend; mail links point there)',
      });
    }
    if (c.METRICS_PORT !== 0 && c.METRICS_PORT === c.PORT) {
      ctx.addIssue({
        code: 'custom',
        path: ['METRICS_PORT'],
        message: 'must differ from PORT (metrics are never served on the public port); 0 turns them off',
      });
    }
    const costProblem = bcryptCostProblem(c.NODE_ENV, c.BCRYPT_COST);
    if (costProblem) ctx.addIssue({ code: 'custom', path: ['BCRYPT_COST'], message: costProblem });
    if (c.NODE_ENV === 'production' && !c.AUTH_COOKIE_SECURE && !c.AUTH_COOKIE_ALLOW_INSECURE) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_COOKIE_SECURE'],
        message:
          'false is refused when NODE_ENV=production (cookies would travel over plain HTTP); ' +
          'set AUTH_COOKIE_ALLOW_INSECURE=true as well if you really mean it',
      });
    }
    const secret = c.JWT_SECRET;
    if (c.NODE_ENV === 'production') {
      if (!secret) {
        ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'required when NODE_ENV=production' });
      } else if (
        secret.length < MIN_SECRET_LENGTH ||
        PLACEHOLDER_SECRETS.has(secret.toLowerCase()) ||
        new Set(secret).size < 10
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['JWT_SECRET'],
          message: `too weak for production: use at least ${MIN_SECRET_LENGTH} random characters (e.g. \`openssl rand -base64 48\`)`,
        });
      }
    }
    if (c.AUTH_COOKIE_SAMESITE === 'none' && !c.AUTH_COOKIE_SECURE) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_COOKIE_SAMESITE'],
        message: 'SameSite=None requires AUTH_COOKIE_SECURE=true',
      });
    }
    if (c.RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS >= c.REQUEST_TIMEOUT_SECONDS * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS'],
        message: 'must be shorter than REQUEST_TIMEOUT_SECONDS, or a slowed-down sign-in would time out',
      });
    }
    if (c.CORS_ALLOWED_ORIGINS.includes('*')) {
      ctx.addIssue({
        code: 'custom',
        path: ['CORS_ALLOWED_ORIGINS'],
        message: "'*' cannot be used with credentialed requests",
      });
    }
    for (const [key, list] of [
      ['CORS_ALLOWED_ORIGINS', c.CORS_ALLOWED_ORIGINS],
      ['CSRF_TRUSTED_ORIGINS', c.CSRF_TRUSTED_ORIGINS],
    ] as const) {
      for (const o of list) {
        if (!isOrigin(o))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `not an origin (scheme://host[:port]): ${o}`,
          });
      }
    }
  })
  .transform((c) => ({ ...c, JWT_SECRET: c.JWT_SECRET || DEV_JWT_SECRET }));

export type ApiConfig = z.infer<typeof apiSchema>;

/** Settings that weaken a default on purpose: logged as warnings at start. */
export function configWarnings(c: ApiConfig): string[] {
  const out: string[] = [];
  if (c.REGISTER_RETURNS_ACTIVATION_TOKEN) {
    out.push(
      'REGISTER_RETURNS_ACTIVATION_TOKEN=true: POST /api/register/ answers the activation token, so ' +
        'anyone can activate an address they do not own (turn it off unless a frontend truly needs it)',
    );
  }
  if (!c.AUTH_COOKIE_SECURE) {
    out.push(
      c.NODE_ENV === 'production'
        ? 'AUTH_COOKIE_SECURE=false in production (AUTH_COOKIE_ALLOW_INSECURE=true): auth cookies also travel over plain HTTP'
        : 'AUTH_COOKIE_SECURE=false: auth cookies also travel over plain HTTP (a development setting)',
    );
  }
  return out;
}

function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/**
 * The catalog area (issue 13): object storage, the operator's status exchange, the namespace of the
 * Video resources, upload limits and the resync period. Parsed separately from apiSchema so the
 * account API runs without them; S3 credentials are required in production, and outside
 * production their absence turns the catalog off (with a warning) instead of stopping the API.
 */
export const catalogSchema = storageSchema
  .extend(amqpSchema.shape)
  .extend({
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    S3_ACCESS_KEY: z.string().optional(),
    S3_SECRET_KEY: z.string().optional(),
    /**
     * Durable quorum queue the API consumes status messages from (bound to AMQP_EXCHANGE, `video.#`);
     * messages that cannot be stored end in `<AMQP_QUEUE>.dead`.
     */
    AMQP_QUEUE: env.str('videoflix.api.status'),
    /** Queue of earlier versions (a classic queue): drained and deleted at start; empty = none. */
    AMQP_LEGACY_QUEUE: z.string().default('videoflix.api.catalog'),
    AMQP_PREFETCH: z.coerce.number().int().min(1).max(1000).default(8),
    AMQP_RECONNECT_MAX_MS: z.coerce.number().int().min(10).default(30_000),
    /** Deliveries of a status message that passes the schema but fails to be stored, before it is dead-lettered. */
    AMQP_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(5),
    /** Longest wait for the Kubernetes API server on one call (create, read, list, delete a Video). */
    KUBE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
    /** Namespace of the Video resources; empty = KUBE_NAMESPACE, else the Pod's namespace in a cluster, else `default`. */
    VIDEO_NAMESPACE: z.string().default(''),
    /** The Pod's namespace (the chart sets it from the downward API): used when VIDEO_NAMESPACE is empty. */
    KUBE_NAMESPACE: z.string().default(''),
    /** Largest accepted upload in bytes (default 5 GiB). */
    UPLOAD_MAX_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(5 * 1024 ** 3),
    /**
     * S3 multipart part size in bytes (at least 5 MiB; default 8 MiB); an upload holds three parts in
     * memory (one filling, two being sent).
     */
    UPLOAD_PART_BYTES: z.coerce
      .number()
      .int()
      .min(5 * 1024 ** 2)
      .max(512 * 1024 ** 2)
      .default(8 * 1024 ** 2),
    /** Time allowed to receive a whole request when the catalog is on (uploads take long; default 1 h). */
    UPLOAD_REQUEST_TIMEOUT_SECONDS: seconds(3600),
    /**
     * Resumable uploads (tus 1.0 at /api/admin/uploads/): an upload not completed this long after its
     * creation expires (410 to its client) and the periodic clean-up removes its parts (default 24 h; at
     * most UPLOAD_STALE_SECONDS, whose sweep aborts any multipart upload older than that).
     */
    UPLOAD_RESUMABLE_EXPIRY_SECONDS: seconds(24 * 3600),
    /** How often the clean-up of expired resumable uploads runs (default 15 min; also once at start). */
    UPLOAD_RESUMABLE_CLEANUP_SECONDS: seconds(900),
    /**
     * S3 parts of resumable uploads sent at once by this process (each spooled to /tmp first, so the
     * process holds ≤ (this + 1) × UPLOAD_PART_BYTES on disk and constant memory).
     */
    UPLOAD_RESUMABLE_CONCURRENT_PARTS: z.coerce.number().int().min(1).max(64).default(4),
    /** Lifetime of the signature in a list's thumbnail_url (rounded up to the hour). */
    THUMBNAIL_URL_TTL_SECONDS: seconds(24 * 3600),
    /**
     * Who moves the segment bytes (issue 23). `proxy`: the API streams them from S3 (every ingress
     * works). `offload`: variant playlists list same-origin presigned S3 URLs (`/<S3_MEDIA_BUCKET>/<key>?X-Amz-...`)
     * and the segment route answers 302 to one; the ingress must route `/<S3_MEDIA_BUCKET>/` to the S3
     * server unchanged (the chart's media Ingress does). Default proxy: offload needs that route.
     */
    STREAMING_MODE: z.enum(['proxy', 'offload']).default('proxy'),
    /** Lifetime of a presigned segment URL in offload mode (seconds; default 4 h, a viewing session; at most 7 days). */
    STREAMING_URL_TTL: z.coerce.number().int().min(60).max(MAX_PRESIGN_SECONDS).default(14_400),
    /**
     * Public hosts (`host` or `host:port`, as browsers send them in Host) segment URLs may be signed for
     * in offload mode; a request with another Host gets 421. Empty: the host of PUBLIC_API_URL.
     */
    STREAMING_HOSTS: env.list(''),
    /** Period of the catalog resync against the Video resources (also run at start-up). */
    CATALOG_RESYNC_SECONDS: seconds(300),
    /** Rows left `Uploading` longer than this (a crashed upload) are removed by the resync. */
    UPLOAD_STALE_SECONDS: seconds(24 * 3600),
    /** Rows of deleted videos stay this long as tombstones (a late, older message cannot revive them). */
    CATALOG_TOMBSTONE_SECONDS: seconds(7 * 24 * 3600),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV === 'production') {
      for (const key of ['S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const) {
        if (!c[key])
          ctx.addIssue({ code: 'custom', path: [key], message: 'required when NODE_ENV=production' });
      }
    }
    if (c.UPLOAD_RESUMABLE_EXPIRY_SECONDS > c.UPLOAD_STALE_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['UPLOAD_RESUMABLE_EXPIRY_SECONDS'],
        message: 'must not exceed UPLOAD_STALE_SECONDS (the resync aborts multipart uploads older than that)',
      });
    }
    if (c.UPLOAD_PART_BYTES * 10_000 < c.UPLOAD_MAX_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['UPLOAD_PART_BYTES'],
        message: 'too small for UPLOAD_MAX_BYTES (S3 allows 10000 parts per upload)',
      });
    }
  });

export type CatalogConfig = z.infer<typeof catalogSchema>;
