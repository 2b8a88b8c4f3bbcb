/**
 * The catalog routes in the OpenAPI document (added to /api/openapi.json through `openApiPaths`):
 * zod schemas of the presenters' bodies and of the upload's fields (the route's own schema).
 */
import { z } from 'zod';
import { RENDITIONS } from '../../common/video/index.js';
import { binary, pathItems, refs, type Json, type Operation, type Reply } from '../openapi/build.js';
import { RESUMABLE_PATH, VIDEO_ID_HEADER } from './routes/resumable.js';
import { uploadFieldsSchema } from './routes/upload.js';

const userAuth = [{ accessCookie: [] }, { bearer: [] }];
/** The catalog's error answers name their example in the description and point at the shared Detail body. */
const err = (description: string): Reply => ({ description, body: refs.detail });
const notFound = err('Not found.');
const unauthorized = err('Authentication credentials were not provided.');
const misdirected = err(
  'Segment URLs are not signed for this host: use the address the platform is published at.',
);
const forbidden = err('You do not have permission to perform this action.');

const id = z.int().min(1);
const resolution = z.enum(RENDITIONS);
const RENDITION_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped'] as const;
const hlsHeaders: Json = {
  'Content-Length': { schema: { type: 'integer' } },
  'Cache-Control': { schema: { type: 'string' } },
  ETag: { schema: { type: 'string' } },
  'Last-Modified': { schema: { type: 'string' } },
};
const playlist = (description: string): Reply => ({
  description,
  headers: hlsHeaders,
  type: 'application/vnd.apple.mpegurl',
  body: z.string(),
});

/** The original list item, exactly (presenters.ts `VideoListItem`). */
export const videoItemSchema = z.strictObject({
  id: z.int(),
  created_at: z.iso.datetime(),
  title: z.string(),
  description: z.string(),
  thumbnail_url: z.url().nullable().describe('absolute; authenticated like the HLS routes'),
  category: z.string(),
});

/** The admin view of a video (presenters.ts `presentAdminVideo`). */
export const adminItemSchema = z.object({
  id: z.int(),
  title: z.string(),
  description: z.string(),
  category: z.string(),
  status: z.enum(['uploading', 'pending', 'processing', 'ready', 'failed', 'deleting']),
  phase: z.enum(['Uploading', 'Pending', 'Processing', 'Ready', 'Failed', 'Deleting']),
  renditions: z.array(
    z.object({
      name: resolution,
      phase: z.enum(RENDITION_PHASES),
      message: z.string().optional(),
      progress: z
        .object({
          percent: z.number().min(0).max(100),
          speed: z.number().nullable().describe('media seconds encoded per second'),
          eta_seconds: z.int().nullable(),
          estimated_completion: z.iso.datetime().nullable(),
          updated_at: z.iso.datetime(),
        })
        .optional()
        .describe("while Running: the transcoder's last progress report (at most every few seconds)"),
    }),
  ),
  error: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  source_size: z.int().nullable(),
  resource: z.object({ namespace: z.string(), name: z.string(), uid: z.string() }).nullable(),
  thumbnail_url: z.string().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});

function operations(uploadMaxBytes: number): Operation[] {
  const videos = { tags: ['videos'], security: userAuth };
  const admin = { tags: ['admin'], security: userAuth };
  return [
    {
      ...videos,
      method: 'get',
      path: '/api/video/',
      summary: 'Videos ready for streaming, newest first',
      responses: {
        200: {
          description:
            'The list; in br or gzip when Accept-Encoding asks for it (Content-Encoding, Vary: Accept-Encoding, an ETag per coding)',
          body: z.array(videoItemSchema),
        },
        304: { description: 'Not modified (If-None-Match: the ETag of the coding it would send)' },
        401: unauthorized,
      },
    },
    {
      ...videos,
      method: 'get',
      path: '/api/video/{id}/master.m3u8',
      summary: 'HLS master playlist (variant URIs relative: `<resolution>/index.m3u8`)',
      params: z.object({ id }),
      responses: {
        200: playlist('Master playlist'),
        304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
        401: unauthorized,
        404: notFound,
      },
    },
    {
      ...videos,
      method: 'get',
      path: '/api/video/{id}/{resolution}/index.m3u8',
      summary:
        'HLS playlist of one resolution (segment URIs relative: `segment_000.ts`; in streaming offload presigned same-origin S3 URLs: `/<media bucket>/<key>?X-Amz-...`)',
      params: z.object({ id, resolution }),
      responses: {
        200: playlist('Media playlist'),
        304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
        401: unauthorized,
        404: notFound,
        421: { ...misdirected, description: 'Streaming offload: the Host is not one URLs are signed for' },
      },
    },
    {
      ...videos,
      method: 'get',
      path: '/api/video/{id}/{resolution}/{segment}/',
      summary: 'One HLS segment (also answered without the trailing slash)',
      params: z.object({ id, resolution, segment: z.string().regex(/^segment_\d{3,6}\.ts$/) }),
      responses: {
        200: { description: 'MPEG-TS segment', headers: hlsHeaders, type: 'video/MP2T', body: binary() },
        206: {
          description: 'One byte range (Range: bytes=first-[last])',
          type: 'video/MP2T',
          body: binary(),
        },
        302: { description: 'Streaming offload: the presigned S3 URL of the segment (Location)' },
        304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
        401: unauthorized,
        404: notFound,
        416: err('Requested range not satisfiable.'),
        421: { ...misdirected, description: 'Streaming offload: the Host is not one URLs are signed for' },
      },
    },
    {
      ...videos,
      method: 'get',
      path: '/api/video/{id}/thumbnail.jpg',
      summary:
        'Thumbnail (the `thumbnail_url` of the list): with the cookie, or with the signature the list put in the URL',
      security: [...userAuth, {}],
      params: z.object({ id }),
      query: z.object({
        exp: z.int().optional().describe('expiry of the signature (Unix seconds)'),
        sig: z.string().optional().describe('HMAC-SHA256 of id and expiry, base64url'),
      }),
      responses: {
        200: { description: 'JPEG', type: 'image/jpeg', body: binary() },
        401: unauthorized,
        404: notFound,
      },
    },
    {
      ...admin,
      method: 'post',
      path: '/api/admin/videos/',
      summary: 'Upload a video (staff only): streamed to storage, then processed on Kubernetes',
      description:
        'multipart/form-data with `title`, `description`, `category` and, last, `file`. The file is streamed ' +
        `as it arrives (limit ${uploadMaxBytes} bytes); content that is not a video container is refused ` +
        'from its first bytes with 415. A failure half-way leaves no row, object or resource behind.',
      body: {
        type: 'multipart/form-data',
        schema: uploadFieldsSchema.extend({ file: binary() }),
        encoding: { file: { contentType: 'video/*' } },
      },
      responses: {
        202: {
          description: 'Accepted; processing runs in the cluster',
          body: z.object({ id: z.int(), status: z.enum(['pending']) }),
        },
        400: { description: 'Invalid fields, no file or malformed multipart', body: refs.fieldErrors },
        401: unauthorized,
        403: forbidden,
        413: err('The file is larger than the limit.'),
        415: err('Not multipart, or the file is not a video.'),
        503: err('Object storage or the cluster is unavailable.'),
      },
    },
    ...resumableOperations(uploadMaxBytes, admin),
    {
      ...admin,
      method: 'get',
      path: '/api/admin/videos/',
      summary: 'Every video with phase, per-rendition state and error (staff only)',
      responses: {
        200: { description: 'The list', body: z.array(adminItemSchema) },
        401: unauthorized,
        403: forbidden,
      },
    },
    {
      ...admin,
      method: 'delete',
      path: '/api/admin/videos/{id}/',
      summary: 'Delete a video (staff only): its Video resource goes, the operator removes the media',
      params: z.object({ id }),
      responses: {
        202: {
          description: '`deleting` until the operator confirms, or `deleted` when there was no resource',
          body: z.object({ id: z.int(), status: z.enum(['deleting', 'deleted']) }),
        },
        401: unauthorized,
        403: forbidden,
        404: notFound,
      },
    },
    {
      ...admin,
      method: 'post',
      path: '/api/admin/videos/{id}/retry/',
      summary:
        'Retry a video whose processing failed (staff only): the operator re-runs only the renditions that failed',
      params: z.object({ id }),
      responses: {
        202: {
          description: 'The retry was requested (the media.videoflix.io/retry annotation of its Video)',
          body: z.object({ id: z.int(), status: z.enum(['retrying']) }),
        },
        401: unauthorized,
        403: forbidden,
        404: notFound,
        409: err('The video has not failed.'),
        503: err('The cluster is unavailable.'),
      },
    },
    {
      ...admin,
      method: 'get',
      path: '/api/admin/videos/{id}/thumbnail.jpg',
      summary: 'The thumbnail as soon as the probe wrote it, in any phase (staff only; the admin console)',
      params: z.object({ id }),
      responses: {
        200: { description: 'JPEG', type: 'image/jpeg', body: binary() },
        304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
        401: unauthorized,
        403: forbidden,
        404: notFound,
      },
    },
  ];
}

export function catalogOpenApiPaths(opts: { uploadMaxBytes: number }): Json {
  return pathItems(operations(opts.uploadMaxBytes));
}

/** The tus 1.0 endpoint (routes/resumable.ts): its requests carry their data in headers, described here. */
function resumableOperations(
  uploadMaxBytes: number,
  admin: Pick<Operation, 'tags' | 'security'>,
): Operation[] {
  const uuid = z.uuid().describe('the upload (the last segment of the Location answered by the POST)');
  const tus =
    'Every request carries `Tus-Resumable: 1.0.0` (tus 1.0, https://tus.io/protocols/resumable-upload).';
  const videoId = {
    [VIDEO_ID_HEADER]: {
      description:
        'Once the upload is complete: the catalog id of the Video it created (the id GET /api/video/ lists)',
      schema: { type: 'integer' },
    },
  };
  return [
    {
      ...admin,
      method: 'post',
      path: RESUMABLE_PATH,
      summary: 'Start a resumable upload (tus 1.0 creation; staff only)',
      description:
        `${tus} \`Upload-Length\` (at most ${uploadMaxBytes} bytes; no deferred length) and \`Upload-Metadata\` ` +
        '(base64 values: `title` required, `description`, `category`, `filename`, `filetype`; the multipart ' +
        "form's rules). No body: the data follows in PATCH requests. The upload expires " +
        '(`Upload-Expires`) UPLOAD_RESUMABLE_EXPIRY_SECONDS after this request.',
      responses: {
        201: { description: 'Created: `Location` is the upload URL, `Upload-Expires` its expiry' },
        400: { description: 'Invalid metadata fields, no Upload-Length, or a body', body: refs.fieldErrors },
        401: unauthorized,
        403: forbidden,
        413: err('The declared length is larger than the limit.'),
        503: err('Object storage is unavailable.'),
      },
    },
    {
      ...admin,
      method: 'head',
      path: `${RESUMABLE_PATH}{uuid}/`,
      summary: "A resumable upload's offset (where to resume), and its Video once complete",
      description: `${tus} A complete upload whose Video was not made yet (a lost answer, a restart) gets it now.`,
      params: z.object({ uuid }),
      responses: {
        200: { description: '`Upload-Offset`, `Upload-Length`, `Upload-Expires`', headers: videoId },
        401: unauthorized,
        403: forbidden,
        404: notFound,
        410: err('The upload expired.'),
      },
    },
    {
      ...admin,
      method: 'patch',
      path: `${RESUMABLE_PATH}{uuid}/`,
      summary: 'Append data at `Upload-Offset` (application/offset+octet-stream)',
      description:
        `${tus} The first bytes (offset 0) must start a video container, or the upload is refused (415) and ` +
        'removed. The request that completes the upload creates the Video (once) and answers its id.',
      params: z.object({ uuid }),
      body: { type: 'application/offset+octet-stream', schema: binary() },
      responses: {
        204: { description: 'Stored: the new `Upload-Offset`', headers: videoId },
        401: unauthorized,
        403: forbidden,
        404: notFound,
        409: err('`Upload-Offset` is not the offset of the upload (HEAD it, then resume there).'),
        410: err('The upload expired.'),
        415: err('The first bytes are not a video.'),
        503: err('Object storage or the cluster is unavailable.'),
      },
    },
    {
      ...admin,
      method: 'delete',
      path: `${RESUMABLE_PATH}{uuid}/`,
      summary: 'Abandon a resumable upload (tus termination): its parts are removed',
      description: tus,
      params: z.object({ uuid }),
      responses: { 204: { description: 'Removed' }, 401: unauthorized, 403: forbidden, 404: notFound },
    },
  ];
}
