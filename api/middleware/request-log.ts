/** One structured log line per request: no bodies, no cookies, no tokens (the one-time ones in paths are blanked). */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../common/logging/index.js';
import { routeOf } from '../errors.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    const incoming = req.get('x-request-id');
    const id = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const level = res.statusCode >= 500 ? 'error' : 'info';
      logger[level](
        {
          requestId: id,
          method: req.method,
          path: routeOf(req),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          code: res.locals.errorCode as string | undefined,
          userId: req.user?.id,
          ip: req.ip,
        },
        'request',
      );
    });
    next();
  };
}
