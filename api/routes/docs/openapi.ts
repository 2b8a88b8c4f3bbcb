/**
 * The OpenAPI 3.1 document of the API, served at /api/openapi.json. Request bodies are generated
 * from the same zod schemas the routes validate with; other areas (the catalog) add their paths
 * through `extraPaths`.
 */
import { Router } from 'express';
import { z } from 'zod';
import {
  loginSchema,
  passwordChangeSchema,
  passwordConfirmSchema,
  passwordResetSchema,
  registerSchema,
} from '../auth/schemas.js';

type Json = Record<string, unknown>;

function bodySchema(schema: z.ZodType, emailFields: string[] = []): Json {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Json & {
    properties?: Record<string, Json>;
  };
  delete js.$schema;
  for (const f of emailFields) if (js.properties?.[f]) js.properties[f].format = 'email';
  return js;
}

const detail = (example: string): Json => ({
  type: 'object',
  properties: { detail: { type: 'string', examples: [example] } },
  required: ['detail'],
});

const json = (schema: Json, description: string): Json => ({
  description,
  content: { 'application/json': { schema } },
});
const fieldErrors: Json = json(
  { $ref: '#/components/schemas/FieldErrors' },
  'Invalid input: `{"field": ["message", ...]}`, or `{"detail": "..."}`',
);
const throttled = json(
  detail('Request was throttled. Expected available in 60 seconds.'),
  'Too many requests',
);
const tokenParams: Json[] = [
  {
    name: 'uidb64',
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: 'base64url of the user id',
  },
  {
    name: 'token',
    in: 'path',
    required: true,
    schema: { type: 'string' },
    description: 'one-time token from the mail',
  },
];
const cookieAuth = [{ refreshCookie: [] }];

export function buildOpenApi(opts: { serverUrl: string; extraPaths?: Json }): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Videoflix API',
      version: '1.0.0',
      description:
        'Accounts and authentication of Videoflix, keeping the HTTP contract of the original Django backend. ' +
        'Authentication uses the HttpOnly cookies `access_token` and `refresh_token` set by login; API clients ' +
        'may send the access token as `Authorization: Bearer`. Unsafe requests from browsers must come from a ' +
        'trusted Origin (CSRF protection). A spent rate limit answers 429 with Retry-After; a request not ' +
        'answered within its timeout (30 s by default, an hour for the upload) answers 503 `{"detail"}` ' +
        '(408 while its body is still arriving).',
    },
    servers: [{ url: opts.serverUrl }],
    components: {
      securitySchemes: {
        accessCookie: { type: 'apiKey', in: 'cookie', name: 'access_token' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: 'refresh_token' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
      schemas: {
        FieldErrors: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        Detail: detail('...'),
      },
    },
    paths: {
      '/api/register/': {
        post: {
          summary: 'Create an inactive account and mail the activation link',
          description:
            'Deviation from the original (issue 21): only the mailed link activates. `token` keeps its place ' +
            'in the answer but, by default, holds 43 random base64url characters that activate nothing ' +
            '(the original answered the activation token, so anyone could activate an address they do not ' +
            'own). REGISTER_RETURNS_ACTIVATION_TOKEN=true restores the old value.',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: bodySchema(registerSchema, ['email']) } },
          },
          responses: {
            201: json(
              {
                type: 'object',
                properties: {
                  user: {
                    type: 'object',
                    properties: { id: { type: 'integer' }, email: { type: 'string' } },
                  },
                  token: {
                    type: 'string',
                    description:
                      'A random value that activates nothing (default); the activation token only with ' +
                      'REGISTER_RETURNS_ACTIVATION_TOKEN=true',
                  },
                },
              },
              'Account created (inactive)',
            ),
            400: fieldErrors,
            429: throttled,
            503: json(
              detail('Email service is currently unavailable.'),
              'The mail could not be sent (the account was removed again), or the rate-limit store is unavailable',
            ),
          },
        },
      },
      '/api/activate/{uidb64}/{token}/': {
        get: {
          summary: 'Activate an account (once; a link never works again, even after a deactivation)',
          parameters: tokenParams,
          responses: {
            200: json(
              { type: 'object', properties: { message: { type: 'string' } } },
              'Account successfully activated.',
            ),
            400: json(
              { type: 'object', properties: { message: { type: 'string' }, detail: { type: 'string' } } },
              'Invalid, expired or used link',
            ),
            429: throttled,
          },
        },
      },
      '/api/login/': {
        post: {
          summary: 'Log in: sets the access_token and refresh_token cookies (a new session)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: bodySchema(loginSchema, ['email']) } },
          },
          responses: {
            200: json(
              {
                type: 'object',
                properties: {
                  detail: { type: 'string', examples: ['Login successful'] },
                  user: {
                    type: 'object',
                    properties: { id: { type: 'integer' }, username: { type: 'string' } },
                  },
                },
              },
              'Logged in',
            ),
            400: json(
              detail('Invalid email or password.'),
              'Unknown email, wrong password or inactive account (one answer)',
            ),
            403: json(detail('CSRF Failed: ...'), 'Untrusted Origin'),
            429: throttled,
          },
        },
      },
      '/api/token/refresh/': {
        post: {
          summary: 'Rotate the refresh token and issue a new access token',
          description:
            'The token presented stops working; presenting it again is reuse and revokes the session. ' +
            'Exception (grace window, REFRESH_GRACE_SECONDS, default 10): within that time after its ' +
            'rotation, the immediately preceding token gets the same successor refresh token again (and a ' +
            'fresh access token), so two tabs refreshing at once both stay signed in. Older tokens, or ' +
            'the preceding one after the window, revoke the session.',
          security: cookieAuth,
          responses: {
            200: json(
              { type: 'object', properties: { detail: { type: 'string' }, access: { type: 'string' } } },
              'Token refreshed (both cookies replaced)',
            ),
            400: json(detail('Refresh token missing.'), 'No refresh cookie'),
            401: json(
              detail('Invalid refresh token.'),
              'Invalid, expired, revoked or replayed outside the grace window (the replay revokes the session)',
            ),
            429: throttled,
          },
        },
      },
      '/api/logout/': {
        post: {
          summary: 'End the session server-side and delete both cookies',
          security: cookieAuth,
          responses: {
            200: json(
              detail('Logout successful! All tokens will be deleted. Refresh token is now invalid.'),
              'Logged out',
            ),
            400: json(detail('Refresh token missing.'), 'No refresh cookie'),
            401: json(detail('Invalid refresh token.'), 'Invalid or already ended session'),
          },
        },
      },
      '/api/password_reset/': {
        post: {
          summary: 'Mail a reset link (same answer whether or not the email exists)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: bodySchema(passwordResetSchema, ['email']) } },
          },
          responses: {
            200: json(detail('An email has been sent to reset your password.'), 'Accepted'),
            400: fieldErrors,
            429: throttled,
            503: json(
              detail('Service temporarily unavailable, try again later.'),
              'The rate-limit store is unavailable (this route is not served without it)',
            ),
          },
        },
      },
      '/api/password_confirm/{uidb64}/{token}/': {
        post: {
          summary: 'Set a new password (link works once); every session of the user ends',
          parameters: tokenParams,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: bodySchema(passwordConfirmSchema) } },
          },
          responses: {
            200: json(detail('Your Password has been successfully reset.'), 'Password changed'),
            400: fieldErrors,
            429: throttled,
          },
        },
      },
      '/api/password_change/': {
        post: {
          summary: 'Addition: change the password while signed in (needs the current one)',
          description:
            'Every session of the account ends (other devices are signed out); this client gets new ' +
            'cookies (a new session). A notification mail is sent. Wrong current passwords are rate-limited ' +
            'per account and per client address (RATE_LIMIT_PASSWORD_CHANGE_MAX per window).',
          security: [{ accessCookie: [] }, { bearer: [] }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: bodySchema(passwordChangeSchema) } },
          },
          responses: {
            200: json(
              detail('Your password has been changed. Other devices were signed out.'),
              'Password changed; both cookies replaced',
            ),
            400: fieldErrors,
            401: json(detail('Authentication credentials were not provided.'), 'Not signed in'),
            403: json(detail('CSRF Failed: ...'), 'Untrusted Origin'),
            429: throttled,
          },
        },
      },
      '/api/me/': {
        get: {
          summary: 'Addition: the authenticated user',
          security: [{ accessCookie: [] }, { bearer: [] }],
          responses: {
            200: json(
              {
                type: 'object',
                properties: {
                  id: { type: 'integer' },
                  email: { type: 'string' },
                  is_staff: { type: 'boolean' },
                },
              },
              'The user',
            ),
            401: json(
              detail('Authentication credentials were not provided.'),
              'Missing, invalid or expired access token',
            ),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { 200: json({ type: 'object' }, 'Alive') } } },
      '/readyz': {
        get: {
          summary: 'Readiness: the database answers',
          responses: { 200: json({ type: 'object' }, 'Ready'), 503: json({ type: 'object' }, 'Not ready') },
        },
      },
      ...opts.extraPaths,
    },
  };
}

export function openApiRouter(doc: Json): Router {
  const r = Router();
  r.get('/api/openapi.json', (_req, res) => {
    res.json(doc);
  });
  return r;
}
