/**
 * The account endpoints of the original API (paths with their trailing slashes). Each route is
 * a pipeline: rate limit → validate → (load/check entity) → thin handler calling a service. Routes
 * whose budget counts failed guesses only (login, activation, refresh, reset confirmation) run
 * the service inside the budget's `attempt`, which gives the point back on success.
 */
import { Router } from 'express';
import { errors } from '../../errors.js';
import type { AuthMiddleware } from '../../middleware/authenticate.js';
import { failedWith, wrongOldPassword, type RateLimits } from '../../middleware/rate-limit.js';
import { bodyOf, validateBody } from '../../middleware/validate.js';
import {
  presentActivation,
  presentLogin,
  presentLogout,
  presentMe,
  presentPasswordChanged,
  presentPasswordResetDone,
  presentPasswordResetRequested,
  presentRefresh,
  presentRegistration,
} from '../../presenters/auth.js';
import { activate, register } from '../../services/accounts.js';
import type { ServiceContext } from '../../services/context.js';
import { changePassword } from '../../services/password-change.js';
import { checkResetLink, confirmPasswordReset, requestPasswordReset } from '../../services/password-reset.js';
import { login, logout, refresh } from '../../services/sessions.js';
import { clearAuthCookies, refreshCookieOf, setAccessCookie, setRefreshCookie } from './cookies.js';
import {
  loginSchema,
  passwordChangeSchema,
  passwordConfirmSchema,
  passwordResetSchema,
  registerSchema,
} from './schemas.js';

export interface AuthRouterDeps {
  ctx: ServiceContext;
  auth: AuthMiddleware;
  limits: RateLimits;
}

/** The errors that count as a failed guess on each route. */
const failedActivation = failedWith('activation_failed');
const failedRefresh = failedWith('token_not_valid');
const failedConfirmation = failedWith('invalid_reset_link');

const missingRefresh = () => errors.badRequest('refresh_token_missing', 'Refresh token missing.');

export function authRouter({ ctx, auth, limits }: AuthRouterDeps): Router {
  const r = Router();
  const { config } = ctx;

  r.post('/register/', limits.register, validateBody(registerSchema), async (_req, res) => {
    const body = bodyOf(res, registerSchema);
    const { user, token } = await register(ctx, { email: body.email, password: body.password });
    res.status(201).json(presentRegistration(user, token));
  });

  r.get('/activate/:uidb64/:token/', async (req, res) => {
    await limits.activation.attempt(req, failedActivation, () =>
      activate(ctx, req.params.uidb64!, req.params.token!),
    );
    res.json(presentActivation());
  });

  r.post('/login/', validateBody(loginSchema), async (req, res) => {
    const body = bodyOf(res, loginSchema);
    const { user, tokens } = await limits.login.attempt(req, body.email, () =>
      login(ctx, { ...body, userAgent: req.get('user-agent') }),
    );
    setAccessCookie(res, config, tokens.access, tokens.accessExpiresAt);
    setRefreshCookie(res, config, tokens.refresh, tokens.refreshExpiresAt);
    res.json(presentLogin(user));
  });

  r.post('/token/refresh/', async (req, res) => {
    const token = refreshCookieOf(req.cookies);
    if (!token) throw missingRefresh();
    const tokens = await limits.refresh.attempt(req, failedRefresh, () => refresh(ctx, token));
    setAccessCookie(res, config, tokens.access, tokens.accessExpiresAt);
    setRefreshCookie(res, config, tokens.refresh, tokens.refreshExpiresAt);
    res.json(presentRefresh(tokens.access));
  });

  r.post('/logout/', async (req, res) => {
    const token = refreshCookieOf(req.cookies);
    if (!token) throw missingRefresh();
    try {
      await logout(ctx, token);
    } finally {
      clearAuthCookies(res, config); // a dead or foreign token is no reason to keep the cookies
    }
    res.json(presentLogout());
  });

  r.post('/password_reset/', limits.passwordReset, validateBody(passwordResetSchema), async (_req, res) => {
    await requestPasswordReset(ctx, bodyOf(res, passwordResetSchema).email);
    res.json(presentPasswordResetRequested());
  });

  r.post(
    '/password_confirm/:uidb64/:token/',
    async (req, _res, next) => {
      await limits.passwordConfirm.attempt(req, failedConfirmation, () =>
        checkResetLink(ctx, req.params.uidb64 as string, req.params.token as string),
      );
      next();
    },
    validateBody(passwordConfirmSchema),
    async (req, res) => {
      const body = bodyOf(res, passwordConfirmSchema);
      await confirmPasswordReset(
        ctx,
        req.params.uidb64 as string,
        req.params.token as string,
        body.new_password,
      );
      res.json(presentPasswordResetDone());
    },
  );

  // Addition (not in the original): change the password while signed in (ASVS 6.2.2). Every session
  // of the account ends; this client gets new cookies (a new session).
  r.post(
    '/password_change/',
    auth.requireAuth,
    limits.passwordChange.guard(),
    validateBody(passwordChangeSchema),
    async (req, res) => {
      const body = bodyOf(res, passwordChangeSchema);
      let tokens;
      try {
        tokens = await changePassword(ctx, {
          userId: req.user!.id,
          oldPassword: body.old_password,
          newPassword: body.new_password,
          userAgent: req.get('user-agent'),
        });
      } catch (err) {
        await limits.passwordChange.settle(res, wrongOldPassword(err));
        throw err;
      }
      await limits.passwordChange.settle(res, false);
      setAccessCookie(res, config, tokens.access, tokens.accessExpiresAt);
      setRefreshCookie(res, config, tokens.refresh, tokens.refreshExpiresAt);
      res.json(presentPasswordChanged());
    },
  );

  // Addition (not in the original): who am I, for clients that need to know whether they are logged in.
  r.get('/me/', auth.requireAuth, (req, res) => {
    res.json(presentMe(req.user!));
  });

  // Other methods on these paths: 405 with Allow, as DRF answers
  const methods: Record<string, string[]> = {
    '/register/': ['POST'],
    '/activate/:uidb64/:token/': ['GET', 'HEAD'],
    '/login/': ['POST'],
    '/token/refresh/': ['POST'],
    '/logout/': ['POST'],
    '/password_reset/': ['POST'],
    '/password_confirm/:uidb64/:token/': ['POST'],
    '/password_change/': ['POST'],
    '/me/': ['GET', 'HEAD'],
  };
  for (const [path, allowed] of Object.entries(methods)) {
    r.all(path, (req, _res, next) => {
      next(
        req.method === 'OPTIONS' ? undefined : errors.methodNotAllowed(req.method, [...allowed, 'OPTIONS']),
      );
    });
  }

  return r;
}
