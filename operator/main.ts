/**
 * The Videoflix operator process: config → clients → controller (informers, queue, Lease) →
 * status publisher → /metrics, /healthz, /readyz. SIGTERM/SIGINT shut down in order: stop taking
 * work and release the Lease, drain in-flight reconciles, flush status messages, close the server.
 */
import { loadConfigOrExit } from '../common/config/index.js';
import { createLogger } from '../common/logging/index.js';
import { operatorSchema, jobSettingsFrom, ladderFrom } from './config.js';
import { VideoController } from './video/controller.js';
import { createHealthServer, listen } from './runtime/health.js';
import { loadKubeConfig } from '../common/kube/config.js';
import { minioFrom } from './storage.js';
import { progressQueueName } from '../common/grants/index.js';
import { ProgressConsumer } from './video/progress.js';
import { StatusPublisher } from './video/publish.js';

async function main() {
  const config = loadConfigOrExit(operatorSchema);
  const logger = createLogger('operator', { level: config.LOG_LEVEL });
  const kc = loadKubeConfig({ timeoutMs: config.KUBE_REQUEST_TIMEOUT_MS });
  const storage = minioFrom(
    config.S3_ENDPOINT,
    config.S3_REGION,
    config.S3_ACCESS_KEY,
    config.S3_SECRET_KEY,
    config.S3_TIMEOUT_MS,
  );
  const ref: { controller?: VideoController } = {};
  let stopping = false;
  const publisher = new StatusPublisher({
    url: config.AMQP_URL,
    exchange: config.AMQP_EXCHANGE,
    logger: logger.child({ part: 'publisher' }),
    backoffMaxMs: config.PUBLISH_BACKOFF_MAX_MS,
    timeoutMs: config.AMQP_TIMEOUT_MS,
    onResult: (result) => ref.controller?.metrics.published.inc({ result }),
  });
  const ctl = new VideoController({
    kubeConfig: kc,
    storage,
    mediaBucket: config.S3_MEDIA_BUCKET,
    sourceBucket: config.S3_SOURCE_BUCKET,
    deleteSourceOnDelete: config.DELETE_SOURCE_ON_DELETE,
    sink: publisher,
    logger,
    identity: config.POD_NAME,
    ...(config.WATCH_NAMESPACE ? { namespace: config.WATCH_NAMESPACE } : {}),
    leaderElection: config.LEADER_ELECTION
      ? {
          namespace: config.POD_NAMESPACE,
          name: config.LEASE_NAME,
          leaseDurationSeconds: config.LEASE_DURATION_SECONDS,
          renewDeadlineMs: config.LEASE_RENEW_DEADLINE_SECONDS * 1000,
          retryPeriodMs: config.LEASE_RETRY_PERIOD_SECONDS * 1000,
        }
      : false,
    workers: config.WORKERS,
    resyncMs: config.RESYNC_SECONDS * 1000,
    mediaCheck: {
      intervalMs: config.MEDIA_CHECK_INTERVAL_SECONDS * 1000,
      perSecond: config.MEDIA_CHECKS_PER_SECOND,
    },
    watchdogMs: config.WATCHDOG_SECONDS * 1000,
    relistMs: config.RELIST_SECONDS * 1000,
    decide: {
      jobs: jobSettingsFrom(config),
      ladder: ladderFrom(config.LADDER_JSON, config.SEGMENT_SECONDS),
      alignmentToleranceSeconds: config.ALIGNMENT_TOLERANCE_SECONDS,
      retry: { limit: config.VIDEO_RETRY_LIMIT, delaySeconds: config.VIDEO_RETRY_DELAY_SECONDS },
    },
    defaultMetrics: true,
    publishOnLead: config.PUBLISH_ON_LEAD,
    ...(config.PROGRESS_WRITE_INTERVAL > 0
      ? { progress: { writeIntervalMs: config.PROGRESS_WRITE_INTERVAL * 1000 } }
      : {}),
    onLostLeadership: () => {
      logger.error('lost the Lease; exiting so that a fresh process campaigns again');
      void shutdown('lost leadership', 1);
    },
  });
  ref.controller = ctl;
  // every replica consumes (a new leader has the latest reports at once); only the leader's passes write
  const progress =
    config.PROGRESS_WRITE_INTERVAL > 0
      ? new ProgressConsumer({
          url: config.AMQP_URL,
          exchange: config.PROGRESS_EXCHANGE,
          queue: progressQueueName(config.PROGRESS_EXCHANGE, config.POD_NAME),
          logger: logger.child({ part: 'progress' }),
          timeoutMs: config.AMQP_TIMEOUT_MS,
          backoffMaxMs: config.PUBLISH_BACKOFF_MAX_MS,
          onMessage: (msg) => ctl.recordProgress(msg),
        })
      : undefined;
  const server = createHealthServer({
    healthy: () => ctl.healthy(),
    ready: () => ctl.ready(),
    registry: ctl.metrics.registry,
  });
  const port = await listen(server, config.HTTP_PORT, config.HTTP_HOST);
  logger.info(
    { port, identity: config.POD_NAME, namespace: config.WATCH_NAMESPACE || '(all)' },
    'operator listening',
  );
  publisher.start();
  progress?.start();
  await ctl.start();

  async function shutdown(signal: string, code = 0) {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_SECONDS * 1000);
    force.unref();
    // the Lease first: a replaced leader must not act a moment longer than it has to (a new Video would
    // get the old Pod's settings); progress reports only wake reconciles, so they stop after
    await ctl.stop();
    await progress?.stop();
    await publisher.stop(Math.max(1000, config.SHUTDOWN_TIMEOUT_SECONDS * 500));
    await new Promise<void>((r) => server.close(() => r()));
    logger.info('stopped');
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`operator failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
