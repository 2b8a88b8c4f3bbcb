/** The probes (and the document itself) in the OpenAPI document. */
import { z } from 'zod';
import type { Operation } from '../../openapi/build.js';

const anything = z.object({}).loose();

export const healthOperations: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    responses: { 200: { description: 'Alive', body: anything } },
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database answers',
    responses: {
      200: { description: 'Ready', body: anything },
      503: { description: 'Not ready', body: anything },
    },
  },
  {
    method: 'get',
    path: '/api/openapi.json',
    summary: "This document (OpenAPI 3.1, generated from the routes' zod schemas)",
    responses: { 200: { description: 'The document', body: anything } },
  },
];
