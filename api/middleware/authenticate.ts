/**
 * Authentication with passport-jwt: the access token comes from the `access_token` cookie (the
 * frontend) or `Authorization: Bearer` (API clients). passport-jwt checks the signature, the
 * algorithm (HS256 only), issuer, audience and expiry; then the `typ` claim must be `access`
 * and its session must still be live (not logged out, not revoked by a password reset) and the
 * account active. Every failure is a JSON 401; `requireStaff` adds a 403 for non-staff users.
 */
import { createSecretKey } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { errors } from '../errors.js';
import type { ServiceContext } from '../services/context.js';
import { userForAccessToken, type AuthenticatedUser } from '../services/sessions.js';
import { checkClaims, jwtVerifyOptions } from '../security/tokens.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends AuthenticatedUser {}
  }
}

export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';

const fromCookie = (req: Request): string | null => {
  const v: unknown = req.cookies?.[ACCESS_COOKIE];
  return typeof v === 'string' && v.length > 0 ? v : null;
};
const fromHeader = ExtractJwt.fromAuthHeaderAsBearerToken();
const extract = ExtractJwt.fromExtractors([fromCookie, fromHeader]);

export interface AuthMiddleware {
  /** 401 unless a valid access token of a live session is presented; sets `req.user`. */
  requireAuth: RequestHandler;
  /** requireAuth, then 403 unless the user is staff. */
  requireStaff: RequestHandler[];
}

export function createAuthMiddleware(ctx: ServiceContext): AuthMiddleware {
  const authenticator = new passport.Passport();
  const opts = jwtVerifyOptions(ctx.jwt);
  authenticator.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: extract,
        // a KeyObject made once: given a string, jsonwebtoken tries createPublicKey on it for every
        // request (and catches the throw) before making the secret key (2-3 % of the API's CPU per
        // HLS segment in the streaming benchmark's profile). Its types only say string | Buffer.
        secretOrKey: createSecretKey(Buffer.from(ctx.jwt.secret, 'utf8')) as unknown as Buffer,
        algorithms: opts.algorithms,
        issuer: opts.issuer,
        audience: opts.audience,
        jsonWebTokenOptions: { clockTolerance: opts.clockTolerance },
      },
      (payload: unknown, done: (err: unknown, user?: AuthenticatedUser | false) => void) => {
        const claims = checkClaims(payload, 'access');
        if (!claims) return done(null, false);
        userForAccessToken(ctx, claims).then(
          (user) => done(null, user ?? false),
          (err: unknown) => done(err),
        );
      },
    ),
  );

  const requireAuth: RequestHandler = (req, res, next) => {
    authenticator.authenticate('jwt', { session: false }, (err: unknown, user: AuthenticatedUser | false) => {
      if (err) return next(err);
      if (!user) {
        return next(
          extract(req)
            ? errors.unauthorized('token_not_valid', 'Given token not valid for any token type')
            : errors.unauthorized(),
        );
      }
      req.user = user;
      next();
    })(req, res, next);
  };

  const staffOnly: RequestHandler = (req, _res, next) => {
    next(req.user?.isStaff ? undefined : errors.forbidden());
  };

  return { requireAuth, requireStaff: [requireAuth, staffOnly] };
}
