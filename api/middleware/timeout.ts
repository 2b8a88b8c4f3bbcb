/**
 * Per-route request timeouts. Every request gets REQUEST_TIMEOUT_SECONDS (short) unless a route of
 * `routes` names its own (the upload: UPLOAD_REQUEST_TIMEOUT_SECONDS, one hour). When the time is up
 * before the answer has started:
 * - the request's AbortSignal (infra/request-signal.ts) is aborted, which cancels the S3 requests it
 *   started (their sockets are closed) and makes an upload abort its multipart upload and remove its
 *   row;
 * - the client gets JSON: 408 while its body was still arriving (a slow client: the connection is
 *   closed after the answer), else 503 with Retry-After (a dependency stalled).
 * Once the answer has started (a segment streaming to a slow player), the timeout leaves it alone:
 * the server's idle-socket timeout ends a stream that stops moving. The signal is also aborted when
 * the client goes away before the answer is complete.
 * Mounted first, so a slow body on a short route is cut after the short time too.
 */
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../../common/logging/index.js';
import { AppError, routeOf } from '../errors.js';
import { withRequestSignal } from '../infra/request-signal.js';

export interface RouteTimeout {
  method: string;
  /** Matched against the path (without the query). */
  path: RegExp;
  seconds: number;
}

export class RequestTimeoutError extends Error {
  constructor(readonly seconds: number) {
    super(`request not answered within ${seconds} s`);
    this.name = 'RequestTimeoutError';
  }
}

export const timedOut = {
  receiving: () =>
    new AppError(408, 'request_timeout', 'The request took too long to arrive.', undefined, {
      Connection: 'close',
    }),
  answering: () =>
    new AppError(503, 'request_timeout', 'The server took too long to answer, try again later.', undefined, {
      'Retry-After': '5',
    }),
};

export function timeoutFor(req: Request, defaultSeconds: number, routes: RouteTimeout[]): number {
  return routes.find((r) => r.method === req.method && r.path.test(req.path))?.seconds ?? defaultSeconds;
}

export function requestTimeouts(
  defaultSeconds: number,
  routes: RouteTimeout[],
  logger: Logger,
): RequestHandler {
  return (req, res, next) => {
    const seconds = timeoutFor(req, defaultSeconds, routes);
    const controller = new AbortController();
    const timer = setTimeout(() => {
      if (res.headersSent) return; // streaming: bounded by the idle-socket timeout instead
      const receiving = !req.complete;
      res.locals.timedOut = true;
      logger.warn({ method: req.method, route: routeOf(req), seconds, receiving }, 'request timed out');
      controller.abort(new RequestTimeoutError(seconds));
      const err = receiving ? timedOut.receiving() : timedOut.answering();
      res.locals.errorCode = err.code;
      if (err.headers) res.set(err.headers);
      res.status(err.status).json(err.toBody());
    }, seconds * 1000);
    timer.unref();
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished && !controller.signal.aborted) controller.abort(new Error('client gone'));
    });
    res.on('finish', () => clearTimeout(timer));
    res.locals.signal = controller.signal;
    withRequestSignal(controller.signal, next);
  };
}

/**
 * Enters the request's signal again: middleware that waits for stream events (the JSON body parser)
 * continues in the context of the socket, not of the request. Mounted after them.
 */
export const rebindRequestSignal: RequestHandler = (_req, res, next) => {
  const signal = res.locals.signal as AbortSignal | undefined;
  if (signal) withRequestSignal(signal, next);
  else next();
};
