/**
 * Errors the API answers with. Factories give each a status and a stable `code` (for logs and
 * clients that want one); the body keeps the shape of the original DRF API:
 * `{"detail": "..."}` or field errors `{"field": ["message", ...]}`.
 * One error handler turns them into answers; anything else is logged and answered as a bare 500.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { unavailable } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';

export { isDatabaseUnavailable } from '../common/errors/index.js';

export type FieldErrors = Record<string, string[]>;

export class AppError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    /** Body to send instead of `{"detail": message}` (field errors, or a contract-specific body). */
    public readonly body?: Record<string, unknown>,
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toBody(): Record<string, unknown> {
    return this.body ?? { detail: this.message };
  }
}

export const errors = {
  validation: (fields: FieldErrors) => new AppError(400, 'validation_failed', 'Invalid input.', fields),
  badRequest: (code: string, detail: string, body?: Record<string, unknown>) =>
    new AppError(400, code, detail, body),
  unauthorized: (code = 'not_authenticated', detail = 'Authentication credentials were not provided.') =>
    new AppError(401, code, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="api"' }),
  forbidden: (code = 'permission_denied', detail = 'You do not have permission to perform this action.') =>
    new AppError(403, code, detail),
  notFound: (detail = 'Not found.') => new AppError(404, 'not_found', detail),
  methodNotAllowed: (method: string, allowed: string[]) =>
    new AppError(405, 'method_not_allowed', `Method "${method}" not allowed.`, undefined, {
      Allow: allowed.join(', '),
    }),
  unsupportedMediaType: (type: string) =>
    new AppError(415, 'unsupported_media_type', `Unsupported media type "${type}" in request.`),
  payloadTooLarge: () => new AppError(413, 'payload_too_large', 'Request body is too large.'),
  throttled: (retryAfterSeconds: number) =>
    new AppError(
      429,
      'throttled',
      `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`,
      undefined,
      {
        'Retry-After': String(retryAfterSeconds),
      },
    ),
  /** 421: the request's Host is not one this API answers for on that route (streaming offload's STREAMING_HOSTS). */
  misdirected: (
    detail = 'Segment URLs are not signed for this host: use the address the platform is published at.',
  ) => new AppError(421, 'misdirected_request', detail),
  serviceUnavailable: (code: string, detail: string) => new AppError(503, code, detail),
  conflict: (code: string, detail: string) => new AppError(409, code, detail),
};

/** 404 for every path no router answered, in the same JSON shape. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => next(errors.notFound());

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/** The one error handler. Trusted errors answer with their body; others log and answer 500 without details. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    // answered by the request timeout already: this is the work it cut short, failing as it should
    if (res.locals.timedOut) return;
    let appError: AppError;
    const down = unavailable(err); // storage, database, broker or cluster: 503 (common/errors)
    if (err instanceof AppError) {
      appError = err;
    } else {
      const e = (err ?? {}) as HttpishError;
      const status = e.status ?? e.statusCode;
      // body-parser and friends: client errors with a known type
      if (e.type === 'entity.parse.failed') {
        appError = errors.badRequest('parse_error', 'JSON parse error - the request body is not valid JSON.');
      } else if (e.type === 'entity.too.large') {
        appError = errors.payloadTooLarge();
      } else if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
        appError = errors.unsupportedMediaType(String(req.headers['content-type'] ?? ''));
      } else if (down) {
        logger.error({ err: safeError(err), route: routeOf(req) }, `${down.dependency} unavailable`);
        appError = errors.serviceUnavailable(down.code, down.detail);
      } else if (isSchemaMissing(err)) {
        // the database answers but lacks our tables (emptied, restored, migrations not run): /readyz
        // already says so and takes the Pod out of the Service; a request that still arrives gets a 503
        logger.error(
          { err: safeError(err), route: routeOf(req) },
          'database schema missing or behind: run the migrations',
        );
        appError = errors.serviceUnavailable(
          'schema_missing',
          'Service temporarily unavailable, try again later.',
        );
      } else if (status !== undefined && status >= 400 && status < 500 && e.expose !== false) {
        appError = new AppError(status, 'bad_request', 'Bad request.');
      } else {
        logger.error({ err: safeError(err), method: req.method, route: routeOf(req) }, 'unhandled error');
        appError = new AppError(500, 'internal_error', 'A server error occurred.');
      }
    }
    if (appError.status >= 500 && err instanceof AppError && !down) {
      logger.warn({ code: appError.code, route: routeOf(req) }, appError.message);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.locals.errorCode = appError.code;
    if (appError.headers) res.set(appError.headers);
    res.status(appError.status).json(appError.toBody());
  };
}

/** Request path with one-time tokens blanked (they travel in the path of two routes). */
export function routeOf(req: { originalUrl?: string; url: string }): string {
  return sanitizePath((req.originalUrl ?? req.url).split('?')[0] ?? '');
}

export function sanitizePath(path: string): string {
  return path.replace(/^(\/api\/(?:activate|password_confirm)\/)[^/]*(?:\/[^/]*)?/, '$1:uidb64/:token');
}

/**
 * What of an unexpected error goes into the log: name, message, code and stack, never attached
 * data (Sequelize errors carry the SQL parameters: emails, password hashes).
 */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err).slice(0, 500) };
  const code = (err as { code?: unknown }).code;
  const original = (err as { original?: unknown }).original;
  return {
    name: err.name,
    message: err.message.slice(0, 1000),
    ...(typeof code === 'string' ? { code } : {}),
    ...(original instanceof Error ? { cause: `${original.name}: ${original.message.slice(0, 500)}` } : {}),
    stack: err.stack?.split('\n').slice(0, 12).join('\n'),
  };
}

/** PostgreSQL's undefined_table / undefined_column: the schema is not (all) there. */
function isSchemaMissing(err: unknown): boolean {
  const code = (err as { original?: { code?: unknown } } | undefined)?.original?.code;
  return code === '42P01' || code === '42703';
}
