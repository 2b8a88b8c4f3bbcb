/** OpenAPI path items of the catalog routes, added to /api/openapi.json through `openApiPaths`. */
import { RENDITIONS } from '../../common/video/index.js';

type Json = Record<string, unknown>;

const detail = (example: string): Json => ({
  description: example,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Detail' } } },
});
const userAuth = [{ accessCookie: [] }, { bearer: [] }];
const notFound = detail('Not found.');
const unauthorized = detail('Authentication credentials were not provided.');
const forbidden = detail('You do not have permission to perform this action.');
const idParam: Json = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const resolutionParam: Json = {
  name: 'resolution',
  in: 'path',
  required: true,
  schema: { type: 'string', enum: [...RENDITIONS] },
};
const hlsHeaders: Json = {
  'Content-Length': { schema: { type: 'integer' } },
  'Cache-Control': { schema: { type: 'string' } },
  ETag: { schema: { type: 'string' } },
};
const playlist = (what: string): Json => ({
  description: what,
  headers: hlsHeaders,
  content: { 'application/vnd.apple.mpegurl': { schema: { type: 'string' } } },
});

const videoItem: Json = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'created_at', 'title', 'description', 'thumbnail_url', 'category'],
  properties: {
    id: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    title: { type: 'string' },
    description: { type: 'string' },
    thumbnail_url: {
      type: ['string', 'null'],
      format: 'uri',
      description: 'absolute; authenticated like the HLS routes',
    },
    category: { type: 'string' },
  },
};

const adminItem: Json = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    description: { type: 'string' },
    category: { type: 'string' },
    status: { type: 'string', enum: ['uploading', 'pending', 'processing', 'ready', 'failed', 'deleting'] },
    phase: { type: 'string', enum: ['Uploading', 'Pending', 'Processing', 'Ready', 'Failed', 'Deleting'] },
    renditions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: { type: 'string', enum: [...RENDITIONS] },
          phase: { type: 'string', enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped'] },
          message: { type: 'string' },
        },
      },
    },
    error: { type: ['string', 'null'] },
    duration_seconds: { type: ['number', 'null'] },
    source_size: { type: ['integer', 'null'] },
    resource: {
      type: ['object', 'null'],
      properties: { namespace: { type: 'string' }, name: { type: 'string' }, uid: { type: 'string' } },
    },
    thumbnail_url: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
};

export function catalogOpenApiPaths(opts: { uploadMaxBytes: number }): Json {
  return {
    '/api/video/': {
      get: {
        tags: ['videos'],
        summary: 'Videos ready for streaming, newest first',
        security: userAuth,
        responses: {
          '200': {
            description: 'The list',
            content: { 'application/json': { schema: { type: 'array', items: videoItem } } },
          },
          '401': unauthorized,
        },
      },
    },
    '/api/video/{id}/master.m3u8': {
      get: {
        tags: ['videos'],
        summary: 'HLS master playlist (variant URIs relative: `<resolution>/index.m3u8`)',
        security: userAuth,
        parameters: [idParam],
        responses: { '200': playlist('Master playlist'), '401': unauthorized, '404': notFound },
      },
    },
    '/api/video/{id}/{resolution}/index.m3u8': {
      get: {
        tags: ['videos'],
        summary: 'HLS playlist of one resolution (segment URIs relative: `segment_000.ts`)',
        security: userAuth,
        parameters: [idParam, resolutionParam],
        responses: { '200': playlist('Media playlist'), '401': unauthorized, '404': notFound },
      },
    },
    '/api/video/{id}/{resolution}/{segment}/': {
      get: {
        tags: ['videos'],
        summary: 'One HLS segment (also answered without the trailing slash)',
        security: userAuth,
        parameters: [
          idParam,
          resolutionParam,
          {
            name: 'segment',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^segment_\\d{3,6}\\.ts$' },
          },
        ],
        responses: {
          '200': {
            description: 'MPEG-TS segment',
            headers: hlsHeaders,
            content: { 'video/MP2T': { schema: { type: 'string', format: 'binary' } } },
          },
          '401': unauthorized,
          '404': notFound,
        },
      },
    },
    '/api/video/{id}/thumbnail.jpg': {
      get: {
        tags: ['videos'],
        summary:
          'Thumbnail (the `thumbnail_url` of the list): with the cookie, or with the signature the list put in the URL',
        security: [...userAuth, {}],
        parameters: [
          idParam,
          {
            name: 'exp',
            in: 'query',
            required: false,
            schema: { type: 'integer' },
            description: 'expiry of the signature (Unix seconds)',
          },
          {
            name: 'sig',
            in: 'query',
            required: false,
            schema: { type: 'string' },
            description: 'HMAC-SHA256 of id and expiry, base64url',
          },
        ],
        responses: {
          '200': {
            description: 'JPEG',
            content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } },
          },
          '401': unauthorized,
          '404': notFound,
        },
      },
    },
    '/api/admin/videos/': {
      post: {
        tags: ['admin'],
        summary: 'Upload a video (staff only): streamed to storage, then processed on Kubernetes',
        description:
          'multipart/form-data with `title`, `description`, `category` and, last, `file`. The file is streamed ' +
          `as it arrives (limit ${opts.uploadMaxBytes} bytes); content that is not a video container is refused ` +
          'from its first bytes with 415. A failure half-way leaves no row, object or resource behind.',
        security: userAuth,
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['title', 'file'],
                properties: {
                  title: { type: 'string', minLength: 1, maxLength: 200 },
                  description: { type: 'string', maxLength: 5000 },
                  category: { type: 'string', maxLength: 100 },
                  file: { type: 'string', format: 'binary' },
                },
              },
              encoding: { file: { contentType: 'video/*' } },
            },
          },
        },
        responses: {
          '202': {
            description: 'Accepted; processing runs in the cluster',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['id', 'status'],
                  properties: { id: { type: 'integer' }, status: { type: 'string', enum: ['pending'] } },
                },
              },
            },
          },
          '400': {
            description: 'Invalid fields, no file or malformed multipart',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/FieldErrors' } } },
          },
          '401': unauthorized,
          '403': forbidden,
          '413': detail('The file is larger than the limit.'),
          '415': detail('Not multipart, or the file is not a video.'),
          '503': detail('Object storage or the cluster is unavailable.'),
        },
      },
      get: {
        tags: ['admin'],
        summary: 'Every video with phase, per-rendition state and error (staff only)',
        security: userAuth,
        responses: {
          '200': {
            description: 'The list',
            content: { 'application/json': { schema: { type: 'array', items: adminItem } } },
          },
          '401': unauthorized,
          '403': forbidden,
        },
      },
    },
    '/api/admin/videos/{id}/': {
      delete: {
        tags: ['admin'],
        summary: 'Delete a video (staff only): its Video resource goes, the operator removes the media',
        security: userAuth,
        parameters: [idParam],
        responses: {
          '202': {
            description: '`deleting` until the operator confirms, or `deleted` when there was no resource',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    status: { type: 'string', enum: ['deleting', 'deleted'] },
                  },
                },
              },
            },
          },
          '401': unauthorized,
          '403': forbidden,
          '404': notFound,
        },
      },
    },
    '/api/admin/videos/{id}/retry/': {
      post: {
        tags: ['admin'],
        summary:
          'Retry a video whose processing failed (staff only): the operator re-runs only the renditions that failed',
        security: userAuth,
        parameters: [idParam],
        responses: {
          '202': {
            description: 'The retry was requested (the media.videoflix.io/retry annotation of its Video)',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { id: { type: 'integer' }, status: { type: 'string', enum: ['retrying'] } },
                },
              },
            },
          },
          '401': unauthorized,
          '403': forbidden,
          '404': notFound,
          '409': detail('The video has not failed.'),
          '503': detail('The cluster is unavailable.'),
        },
      },
    },
  };
}
