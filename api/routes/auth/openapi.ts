/** The account endpoints in the OpenAPI document: request bodies are the routes' own zod schemas. */
import { z } from 'zod';
import { detail, refs, type Operation } from '../../openapi/build.js';
import * as schemas from './schemas.js';

const fieldErrors = {
  description: 'Invalid input: `{"field": ["message", ...]}`, or `{"detail": "..."}`',
  body: refs.fieldErrors,
};
const throttled = {
  description: 'Too many requests',
  body: detail('Request was throttled. Expected available in 60 seconds.'),
};
const csrf = { description: 'Untrusted Origin', body: detail('CSRF Failed: ...') };
const tokenParams = z.object({
  uidb64: z.string().describe('base64url of the user id'),
  token: z.string().describe('one-time token from the mail'),
});
const refreshCookie = [{ refreshCookie: [] }];
const userAuth = [{ accessCookie: [] }, { bearer: [] }];
const noRefreshCookie = { description: 'No refresh cookie', body: detail('Refresh token missing.') };

export const authOperations: Operation[] = [
  {
    method: 'post',
    path: '/api/register/',
    summary: 'Create an inactive account and mail the activation link',
    description:
      'Deviation from the original (issue 21): only the mailed link activates. `token` keeps its place ' +
      'in the answer but, by default, holds 43 random base64url characters that activate nothing ' +
      '(the original answered the activation token, so anyone could activate an address they do not ' +
      'own). REGISTER_RETURNS_ACTIVATION_TOKEN=true restores the old value.',
    body: { schema: schemas.registerSchema, emailFields: ['email'] },
    responses: {
      201: {
        description: 'Account created (inactive)',
        body: z.object({
          user: z.object({ id: z.int(), email: z.string() }),
          token: z
            .string()
            .describe(
              'A random value that activates nothing (default); the activation token only with ' +
                'REGISTER_RETURNS_ACTIVATION_TOKEN=true',
            ),
        }),
      },
      400: fieldErrors,
      429: throttled,
      503: {
        description:
          'The mail could not be sent (the account was removed again), or the rate-limit store is unavailable',
        body: detail('Email service is currently unavailable.'),
      },
    },
  },
  {
    method: 'get',
    path: '/api/activate/{uidb64}/{token}/',
    summary: 'Activate an account (once; a link never works again, even after a deactivation)',
    params: tokenParams,
    responses: {
      200: { description: 'Account successfully activated.', body: z.object({ message: z.string() }) },
      400: {
        description: 'Invalid, expired or used link',
        body: z.object({ message: z.string(), detail: z.string() }),
      },
      429: throttled,
    },
  },
  {
    method: 'post',
    path: '/api/login/',
    summary: 'Log in: sets the access_token and refresh_token cookies (a new session)',
    body: { schema: schemas.loginSchema, emailFields: ['email'] },
    responses: {
      200: {
        description: 'Logged in',
        body: z.object({
          detail: z.string().meta({ examples: ['Login successful'] }),
          user: z.object({ id: z.int(), username: z.string() }),
        }),
      },
      400: {
        description: 'Unknown email, wrong password or inactive account (one answer)',
        body: detail('Invalid email or password.'),
      },
      403: csrf,
      429: throttled,
    },
  },
  {
    method: 'post',
    path: '/api/token/refresh/',
    summary: 'Rotate the refresh token and issue a new access token',
    description:
      'The token presented stops working; presenting it again is reuse and revokes the session. ' +
      'Exception (grace window, REFRESH_GRACE_SECONDS, default 10): within that time after its ' +
      'rotation, the immediately preceding token gets the same successor refresh token again (and a ' +
      'fresh access token), so two tabs refreshing at once both stay signed in. Older tokens, or ' +
      'the preceding one after the window, revoke the session.',
    security: refreshCookie,
    responses: {
      200: {
        description: 'Token refreshed (both cookies replaced)',
        body: z.object({ detail: z.string(), access: z.string() }),
      },
      400: noRefreshCookie,
      401: {
        description:
          'Invalid, expired, revoked or replayed outside the grace window (the replay revokes the session)',
        body: detail('Invalid refresh token.'),
      },
      429: throttled,
    },
  },
  {
    method: 'post',
    path: '/api/logout/',
    summary: 'End the session server-side and delete both cookies',
    security: refreshCookie,
    responses: {
      200: {
        description: 'Logged out',
        body: detail('Logout successful! All tokens will be deleted. Refresh token is now invalid.'),
      },
      400: noRefreshCookie,
      401: { description: 'Invalid or already ended session', body: detail('Invalid refresh token.') },
    },
  },
  {
    method: 'post',
    path: '/api/password_reset/',
    summary: 'Mail a reset link (same answer whether or not the email exists)',
    body: { schema: schemas.passwordResetSchema, emailFields: ['email'] },
    responses: {
      200: { description: 'Accepted', body: detail('An email has been sent to reset your password.') },
      400: fieldErrors,
      429: throttled,
      503: {
        description: 'The rate-limit store is unavailable (this route is not served without it)',
        body: detail('Service temporarily unavailable, try again later.'),
      },
    },
  },
  {
    method: 'post',
    path: '/api/password_confirm/{uidb64}/{token}/',
    summary: 'Set a new password (link works once); every session of the user ends',
    params: tokenParams,
    body: { schema: schemas.passwordConfirmSchema },
    responses: {
      200: { description: 'Password changed', body: detail('Your Password has been successfully reset.') },
      400: fieldErrors,
      429: throttled,
    },
  },
  {
    method: 'post',
    path: '/api/password_change/',
    summary: 'Addition: change the password while signed in (needs the current one)',
    description:
      'Every session of the account ends (other devices are signed out); this client gets new ' +
      'cookies (a new session). A notification mail is sent. Wrong current passwords are rate-limited ' +
      'per account and per client address (RATE_LIMIT_PASSWORD_CHANGE_MAX per window).',
    security: userAuth,
    body: { schema: schemas.passwordChangeSchema },
    responses: {
      200: {
        description: 'Password changed; both cookies replaced',
        body: detail('Your password has been changed. Other devices were signed out.'),
      },
      400: fieldErrors,
      401: { description: 'Not signed in', body: detail('Authentication credentials were not provided.') },
      403: csrf,
      429: throttled,
    },
  },
  {
    method: 'get',
    path: '/api/me/',
    summary: 'Addition: the authenticated user',
    security: userAuth,
    responses: {
      200: {
        description: 'The user',
        body: z.object({ id: z.int(), email: z.string(), is_staff: z.boolean() }),
      },
      401: {
        description: 'Missing, invalid or expired access token',
        body: detail('Authentication credentials were not provided.'),
      },
    },
  },
];
