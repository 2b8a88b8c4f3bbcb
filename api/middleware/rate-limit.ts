/**
 * Rate limits on the endpoints that guess or send: login (failed attempts, per client address and
 * per account),
 * register and password reset (per client address). The store is in memory, per process: with N
 * replicas an attacker gets N times the budget (a shared store can be plugged in here later).
 * Client addresses come from `req.ip`, so TRUST_PROXY must match the ingress in front.
 */
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { errors } from '../errors.js';

export interface RateLimitSettings {
  windowSeconds: number;
  loginMax: number;
  registerMax: number;
  passwordResetMax: number;
  passwordChangeMax: number;
}

function limiter(
  name: string,
  windowSeconds: number,
  max: number,
  key: (req: Request) => string,
  countFailuresOnly = false,
): RequestHandler {
  return rateLimit({
    skipSuccessfulRequests: countFailuresOnly,
    windowMs: windowSeconds * 1000,
    limit: max,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => `${name}:${key(req)}`,
    handler: (req, _res, next) => {
      const info = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit;
      const retry = info?.resetTime
        ? Math.max(1, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000))
        : windowSeconds;
      next(errors.throttled(retry));
    },
  });
}

const byIp = (req: Request) => ipKeyGenerator(req.ip ?? 'unknown');
const byEmail = (req: Request) => {
  const email: unknown = (req.body as Record<string, unknown> | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase().slice(0, 254) : '-';
};

const byUser = (req: Request) => String(req.user?.id ?? '-');

export function createRateLimits(s: RateLimitSettings) {
  return {
    login: [
      limiter('login-ip', s.windowSeconds, s.loginMax, byIp, true),
      limiter('login-account', s.windowSeconds, s.loginMax, byEmail, true),
    ],
    register: [limiter('register', s.windowSeconds, s.registerMax, byIp)],
    passwordReset: [limiter('password-reset', s.windowSeconds, s.passwordResetMax, byIp)],
    // after authentication: wrong old passwords, per account and per client address
    passwordChange: [
      limiter('password-change-ip', s.windowSeconds, s.passwordChangeMax, byIp, true),
      limiter('password-change-account', s.windowSeconds, s.passwordChangeMax, byUser, true),
    ],
  };
}
