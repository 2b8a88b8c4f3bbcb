/**
 * The API process: load and check configuration (exit 78 when wrong), connect, migrate when
 * asked (MIGRATE_ON_START), listen, and shut down in order on SIGTERM/SIGINT:
 * readiness goes 503 → (SHUTDOWN_DELAY_MS, for endpoints to drop the pod) → stop accepting
 * connections → abort uploads in progress (each answers 503 `shutting_down` and removes its
 * multipart upload and catalog row) → drain in-flight requests (bounded by SHUTDOWN_GRACE_MS) →
 * stop the status consumer → finish background mails → close SMTP → close the database pool.
 */
import { createServer } from 'node:http';
import { env, loadConfigOrExit, z } from '../common/config/index.js';
import { createLogger } from '../common/logging/index.js';
import { createMetricsServer } from '../common/metrics/index.js';
import { createApp } from './app.js';
import { safeError } from './errors.js';
import { createCatalog } from './catalog/index.js';
import { apiSchema, catalogSchema, configWarnings, DEV_JWT_SECRET } from './config.js';
import { createSequelize } from './infra/db.js';
import { createSmtpMailer } from './infra/mailer.js';
import { createApiMetrics } from './infra/metrics.js';
import { migrateUp } from './infra/migrator.js';
import { initModels } from './models/index.js';
import { BackgroundTasks } from './services/background.js';
import { schedulePurge } from './services/sessions.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit(apiSchema);
  const { MIGRATE_ON_START } = loadConfigOrExit(z.object({ MIGRATE_ON_START: env.bool(false) }));
  const logger = createLogger('api', { level: config.LOG_LEVEL });
  if (config.JWT_SECRET === DEV_JWT_SECRET)
    logger.warn('JWT_SECRET is not set: using an insecure development secret');
  for (const warning of configWarnings(config)) logger.warn(warning);

  const sequelize = createSequelize({
    url: config.DATABASE_URL,
    poolMax: config.DATABASE_POOL_MAX,
    ssl: config.DATABASE_SSL,
    logger,
  });
  const models = initModels(sequelize);
  const metrics = config.METRICS_PORT ? createApiMetrics({ defaultMetrics: true }) : undefined;
  if (MIGRATE_ON_START) await migrateUp(sequelize, logger);

  // the catalog (issue 13): off outside production when no S3 credentials are configured
  const catalogConfig = loadConfigOrExit(catalogSchema);
  const catalog =
    catalogConfig.S3_ACCESS_KEY && catalogConfig.S3_SECRET_KEY
      ? createCatalog({
          config: catalogConfig,
          publicApiUrl: config.PUBLIC_API_URL,
          secret: config.JWT_SECRET,
          sequelize,
          logger,
          ...(metrics ? { metrics } : {}),
        })
      : undefined;
  if (!catalog) logger.warn('catalog disabled: S3_ACCESS_KEY and S3_SECRET_KEY are not set');
  else
    logger.info(
      {
        streamingMode: catalogConfig.STREAMING_MODE,
        ...(catalogConfig.STREAMING_MODE === 'offload'
          ? { urlTtlSeconds: catalogConfig.STREAMING_URL_TTL, hosts: catalogConfig.STREAMING_HOSTS }
          : {}),
      },
      catalogConfig.STREAMING_MODE === 'offload'
        ? `streaming offload: segments served by S3 through the ingress route /${catalogConfig.S3_MEDIA_BUCKET}/`
        : 'streaming proxy: segments streamed by the API',
    );

  const mailer = createSmtpMailer({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    requireTls: config.SMTP_REQUIRE_TLS,
    user: config.SMTP_USER,
    password: config.SMTP_PASSWORD,
    timeoutMs: config.SMTP_TIMEOUT_MS,
    from: config.MAIL_FROM,
  });
  const tasks = new BackgroundTasks(logger);
  const lifecycle = { shuttingDown: false };
  const app = createApp({
    config,
    sequelize,
    models,
    mailer,
    logger,
    tasks,
    lifecycle,
    ...(metrics ? { metrics } : {}),
    ...(catalog
      ? { routers: catalog.routers, openApiPaths: catalog.openApiPaths, routeTimeouts: catalog.routeTimeouts }
      : {}),
  });

  const server = createServer(app);
  server.keepAliveTimeout = 65_000; // longer than typical ingress idle timeouts
  server.headersTimeout = 66_000;
  // Per-route timeouts are createApp's (middleware/timeout.ts: REQUEST_TIMEOUT_SECONDS, the upload's
  // hour). Node's own limit on receiving a request only backs them up: past the longest of them.
  const longest = Math.max(
    config.REQUEST_TIMEOUT_SECONDS,
    ...(catalog ? catalog.routeTimeouts.map((r) => r.seconds) : []),
  );
  server.requestTimeout = (longest + 30) * 1000;
  // a connection on which nothing moves for this long is closed (a stalled stream, a silent client)
  server.timeout = Math.max(config.REQUEST_TIMEOUT_SECONDS, 60) * 1000;
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  logger.info({ host: config.HOST, port: config.PORT, env: config.NODE_ENV }, 'api listening');
  // Prometheus metrics on a port of their own: the Service and ingress of the app never expose it
  const metricsServer = metrics ? createMetricsServer(metrics.registry) : undefined;
  if (metricsServer) {
    await new Promise<void>((resolve, reject) => {
      metricsServer.once('error', reject);
      metricsServer.listen(config.METRICS_PORT, config.HOST, resolve);
    });
    logger.info({ host: config.HOST, port: config.METRICS_PORT }, 'metrics listening');
  }
  catalog?.start(); // status consumer + periodic resync (first run now)
  const stopPurge = schedulePurge(app.locals.ctx, config.SESSION_PURGE_INTERVAL * 1000);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    lifecycle.shuttingDown = true;
    stopPurge();
    if (config.SHUTDOWN_DELAY_MS > 0) await new Promise((r) => setTimeout(r, config.SHUTDOWN_DELAY_MS));
    const deadline = setTimeout(() => {
      logger.error('shutdown grace period exceeded; closing remaining connections');
      server.closeAllConnections();
    }, config.SHUTDOWN_GRACE_MS);
    deadline.unref();
    const closed = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    // an upload would outlast any drain: aborted now, cleaned up before the pools close
    const aborted = await catalog?.abortUploads(config.SHUTDOWN_GRACE_MS);
    if (aborted) logger.info({ aborted }, 'uploads in progress aborted');
    await closed;
    await catalog?.stop(); // no new status message starts; handlers in flight finish and ack
    await tasks.drain(config.SHUTDOWN_GRACE_MS);
    mailer.close();
    await sequelize.close();
    metricsServer?.close(); // last: a scrape during the drain still answers
    clearTimeout(deadline);
    logger.info('stopped');
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err: safeError(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`api failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
