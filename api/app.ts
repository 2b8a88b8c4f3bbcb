/**
 * createApp(deps): the Express application, without listen (tests start it on a free port with
 * supertest; main.ts wires real dependencies and listens).
 *
 * Order: metrics (when given: infra/metrics.ts) → request log → request timeout (per route) → helmet → CORS → cookies → JSON body
 * (size-limited) → CSRF check on unsafe methods → the request's AbortSignal rebound → health and
 * /api/openapi.json → the admin console (/admin/) → /api routers (accounts, then `deps.routers`:
 * the catalog's public and admin routers, which main.ts gets from createCatalog) → 404 → the one
 * error handler.
 */
import cookieParser from 'cookie-parser';
import cors from 'cors';
import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../common/logging/index.js';
import type { ApiConfig } from './config.js';
import { errorHandler, notFoundHandler } from './errors.js';
import type { Mailer } from './infra/mailer.js';
import { httpMetrics, poolStatsOf, type ApiMetrics } from './infra/metrics.js';
import { createAuthMiddleware, type AuthMiddleware } from './middleware/authenticate.js';
import { csrfProtection } from './middleware/csrf.js';
import { createRateLimits, type RateLimitSettings } from './middleware/rate-limit.js';
import { requestLog } from './middleware/request-log.js';
import { rebindRequestSignal, requestTimeouts, type RouteTimeout } from './middleware/timeout.js';
import type { Models } from './models/index.js';
import { adminConsoleRouter } from './routes/admin-console/index.js';
import { authRouter } from './routes/auth/index.js';
import { buildOpenApi, openApiRouter } from './routes/docs/openapi.js';
import { healthRouter, type Lifecycle } from './routes/health/index.js';
import type { BackgroundTasks } from './services/background.js';
import { buildServiceContext, type ServiceContext } from './services/context.js';
import { createPasswordHasher, type PasswordHasher } from './security/passwords.js';

export interface AppDeps {
  config: ApiConfig;
  sequelize: Sequelize;
  models: Models;
  mailer: Mailer;
  logger: Logger;
  hasher?: PasswordHasher;
  tasks?: BackgroundTasks;
  lifecycle?: Lifecycle;
  now?: () => number;
  /** Where the rate limits count (default: `sequelize`; the `rate_limits` table of migration 0005). */
  rateLimitStore?: Sequelize;
  /** More routers mounted under /api after the account routes (the catalog's, from createCatalog; test probes). */
  routers?: Array<(x: { ctx: ServiceContext; auth: AuthMiddleware }) => Router>;
  /** OpenAPI path items those routers add to /api/openapi.json (generated from zod: api/openapi/build.ts). */
  openApiPaths?: Record<string, unknown>;
  /** Routes whose timeout is not REQUEST_TIMEOUT_SECONDS (the upload's hour). */
  routeTimeouts?: RouteTimeout[];
  /** Prometheus metrics (infra/metrics.ts), served by main.ts on METRICS_PORT; none when absent. */
  metrics?: ApiMetrics;
}

export interface VideoflixApp extends Express {
  locals: Express['locals'] & { ctx: ServiceContext; auth: AuthMiddleware; lifecycle: Lifecycle };
}

export function createApp(deps: AppDeps): VideoflixApp {
  const { config, logger } = deps;
  const ctx = buildServiceContext({
    config,
    sequelize: deps.sequelize,
    models: deps.models,
    mailer: deps.mailer,
    logger,
    hasher: deps.hasher ?? createPasswordHasher(config.BCRYPT_COST),
    tasks: deps.tasks,
    now: deps.now ?? Date.now,
  });
  const lifecycle = deps.lifecycle ?? { shuttingDown: false };
  const auth = createAuthMiddleware(ctx);

  const app = express() as VideoflixApp;
  app.locals.ctx = ctx;
  app.locals.auth = auth;
  app.locals.lifecycle = lifecycle;
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy(config.TRUST_PROXY));

  const frontendOrigin = new URL(config.FRONTEND_URL).origin;
  const corsOrigins = new Set([...config.CORS_ALLOWED_ORIGINS]);
  const trustedOrigins = [
    ...new Set([...config.CORS_ALLOWED_ORIGINS, ...config.CSRF_TRUSTED_ORIGINS, frontendOrigin]),
  ];

  const { metrics } = deps;
  if (metrics) {
    metrics.sources.pool ??= () => poolStatsOf(deps.sequelize);
    app.use(httpMetrics(metrics));
  }
  app.use(requestLog(logger));
  app.use(requestTimeouts(config.REQUEST_TIMEOUT_SECONDS, deps.routeTimeouts ?? [], logger));
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'same-site' } }));
  app.use(
    cors({
      origin: (origin, cb) => cb(null, origin !== undefined && corsOrigins.has(origin)),
      credentials: true,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      maxAge: 600,
    }),
  );
  app.use(cookieParser());
  app.use(express.json({ limit: config.BODY_LIMIT, strict: true }));
  app.use(csrfProtection(trustedOrigins));
  app.use(rebindRequestSignal);

  app.use(
    healthRouter({ sequelize: deps.sequelize, lifecycle, schemaCacheMs: config.SCHEMA_CHECK_CACHE_MS }),
  );
  app.use(openApiRouter(buildOpenApi({ serverUrl: config.PUBLIC_API_URL, extraPaths: deps.openApiPaths })));

  app.use(adminConsoleRouter()); // web/admin-console at /admin/ (express.static; issue 15)
  const limits = createRateLimits(
    rateLimitSettings(config),
    deps.rateLimitStore ?? deps.sequelize,
    logger,
    metrics && ((limiter) => metrics.rateLimitRefusals.inc({ limiter })),
  );
  app.use('/api', authRouter({ ctx, auth, limits }));
  // the catalog's routers (issue 13): createCatalog(…).routers, passed in by main.ts
  for (const make of deps.routers ?? []) app.use('/api', make({ ctx, auth }));

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}

function rateLimitSettings(c: ApiConfig): RateLimitSettings {
  return {
    windowSeconds: c.RATE_LIMIT_WINDOW_SECONDS,
    loginMax: c.RATE_LIMIT_LOGIN_MAX,
    loginIpMax: c.RATE_LIMIT_LOGIN_IP_MAX,
    slowdown: {
      after: c.RATE_LIMIT_LOGIN_SLOWDOWN_AFTER,
      baseMs: c.RATE_LIMIT_LOGIN_SLOWDOWN_BASE_MS,
      maxMs: c.RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS,
    },
    registerMax: c.RATE_LIMIT_REGISTER_MAX,
    passwordResetMax: c.RATE_LIMIT_PASSWORD_RESET_MAX,
    passwordChangeMax: c.RATE_LIMIT_PASSWORD_CHANGE_MAX,
    passwordConfirmMax: c.RATE_LIMIT_PASSWORD_CONFIRM_MAX,
    activationMax: c.RATE_LIMIT_ACTIVATION_MAX,
    refreshMax: c.RATE_LIMIT_REFRESH_MAX,
    storeTimeoutMs: c.RATE_LIMIT_STORE_TIMEOUT_MS,
  };
}

function trustProxy(value: string): boolean | number | string[] {
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((s) => s.trim());
}
