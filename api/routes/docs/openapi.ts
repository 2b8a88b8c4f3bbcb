/**
 * The OpenAPI 3.1 document of the API, served at /api/openapi.json: generated from the zod
 * declarations of each area (api/openapi/build.ts); other areas (the catalog) add their path items
 * through `extraPaths`.
 */
import { Router } from 'express';
import { buildDocument, pathItems, type Json } from '../../openapi/build.js';
import { authOperations } from '../auth/openapi.js';
import { healthOperations } from '../health/openapi.js';

const DESCRIPTION =
  'Accounts and authentication of Videoflix, keeping the HTTP contract of the original Django backend. ' +
  'Authentication uses the HttpOnly cookies `access_token` and `refresh_token` set by login; API clients ' +
  'may send the access token as `Authorization: Bearer`. Unsafe requests from browsers must come from a ' +
  'trusted Origin (CSRF protection). A spent rate limit answers 429 with Retry-After; a request not ' +
  'answered within its timeout (30 s by default, an hour for the upload) answers 503 `{"detail"}` ' +
  '(408 while its body is still arriving).';

export function buildOpenApi(opts: { serverUrl: string; extraPaths?: Json }): Json {
  return buildDocument({
    serverUrl: opts.serverUrl,
    description: DESCRIPTION,
    paths: { ...pathItems([...authOperations, ...healthOperations]), ...opts.extraPaths },
  });
}

export function openApiRouter(doc: Json): Router {
  const r = Router();
  r.get('/api/openapi.json', (_req, res) => {
    res.json(doc);
  });
  return r;
}
