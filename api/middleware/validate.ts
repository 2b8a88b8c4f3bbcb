/** Body validation with zod; failures answer 400 with DRF-shaped field errors. */
import type { RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { errors, type FieldErrors } from '../errors.js';

/** zod issues → `{"field": ["message"]}`; issues without a field go under `non_field_errors` as in DRF. */
export function fieldErrors(error: z.ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? String(issue.path[0]) : 'non_field_errors';
    const list = (out[key] ??= []);
    if (!list.includes(issue.message)) list.push(issue.message);
  }
  return out;
}

function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  return (
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  );
}

/** Parses `req.body` (JSON only) with `schema`; the result is in `res.locals.body`. */
export function validateBody(schema: z.ZodType): RequestHandler {
  return (req, res, next) => {
    if (req.body === undefined && hasBody(req.headers)) {
      return next(errors.unsupportedMediaType(String(req.headers['content-type'] ?? '')));
    }
    const result = schema.safeParse(req.body ?? {});
    if (!result.success) return next(errors.validation(fieldErrors(result.error)));
    res.locals.body = result.data;
    next();
  };
}

export function bodyOf<S extends z.ZodType>(res: Response, _schema: S): z.infer<S> {
  return res.locals.body as z.infer<S>;
}
