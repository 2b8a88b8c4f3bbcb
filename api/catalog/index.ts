/**
 * The catalog feature (issue 13), wired from its configuration: object storage, the Video client, the catalog
 * service, the status consumer and the routers + OpenAPI paths that createApp mounts through
 * `deps.routers` / `deps.openApiPaths`. main.ts starts it after listening and stops it in the
 * ordered shutdown (consumer first: no new message starts; then the resync; then the change listener).
 */
import type { Router } from 'express';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../../common/logging/index.js';
import type { AppDeps } from '../app.js';
import type { CatalogConfig } from '../config.js';
import { isDatabaseUnavailable } from '../errors.js';
import { loadKubeConfig } from '../../common/kube/config.js';
import { S3Presigner } from '../../common/storage/presign.js';
import { KubeVideos, resolveNamespace, type VideoClient } from '../infra/kube.js';
import type { ApiMetrics } from '../infra/metrics.js';
import { StatusConsumer, type StatusConsumerOptions } from '../infra/status-consumer.js';
import { ObjectStorage } from '../infra/storage.js';
import type { RouteTimeout } from '../middleware/timeout.js';
import { initVideoModel } from '../models/video.js';
import { MediaUrlSigner } from '../security/media-urls.js';
import { deriveKey } from '../security/tokens.js';
import { CatalogChanges } from './changes.js';
import { catalogOpenApiPaths } from './openapi.js';
import { adminVideoRouter } from './routes/admin.js';
import type { CatalogRouteDeps } from './routes/deps.js';
import { videoRouter } from './routes/public.js';
import { InFlightUploads } from './routes/in-flight.js';
import { createResumableUploads, RESUMABLE_ROUTE, type ResumableEvent } from './routes/resumable.js';
import { CatalogService } from './service.js';
import { SegmentUrls, streamingHosts } from './streaming.js';

/** The upload route (POST /api/admin/videos/), the one route with a long timeout. */
export const UPLOAD_PATH = /^\/api\/admin\/videos\/?$/;

export interface Catalog {
  service: CatalogService;
  storage: ObjectStorage;
  consumer: StatusConsumer;
  /** The videos table's change notifications (LISTEN), which the users' list cache follows. */
  changes: CatalogChanges;
  routers: NonNullable<AppDeps['routers']>;
  openApiPaths: Record<string, unknown>;
  /** The upload's own timeout (createApp's `routeTimeouts`). */
  routeTimeouts: RouteTimeout[];
  /** Starts consuming status messages and the periodic resync (first run at once). */
  start(): void;
  stop(): Promise<void>;
  /** Removes expired resumable uploads now (also run every UPLOAD_RESUMABLE_CLEANUP_SECONDS once started). */
  cleanupResumable(): Promise<number>;
  /** Shutdown: aborts the uploads in progress (503 to their clients) and waits ≤ ms for their clean-up. */
  abortUploads(ms: number): Promise<number>;
}

export interface CatalogWiring {
  config: CatalogConfig;
  publicApiUrl: string;
  /** JWT_SECRET: the key of signed thumbnail URLs is derived from it. */
  secret: string;
  sequelize: Sequelize;
  logger: Logger;
  /** Defaults: from $KUBECONFIG / in-cluster, and S3 from config (tests may pass their own). */
  kube?: VideoClient;
  storage?: ObjectStorage;
  /** The API's metrics: uploads, the status consumer (infra/metrics.ts). */
  metrics?: ApiMetrics;
}

export function createCatalog(w: CatalogWiring): Catalog {
  const { config, logger } = w;
  const storage =
    w.storage ??
    ObjectStorage.fromConfig(
      {
        S3_ENDPOINT: config.S3_ENDPOINT,
        S3_REGION: config.S3_REGION,
        S3_ACCESS_KEY: config.S3_ACCESS_KEY ?? '',
        S3_SECRET_KEY: config.S3_SECRET_KEY ?? '',
        S3_TIMEOUT_MS: config.S3_TIMEOUT_MS,
      },
      config.UPLOAD_PART_BYTES,
    );
  const kube =
    w.kube ??
    new KubeVideos(
      loadKubeConfig({ timeoutMs: config.KUBE_REQUEST_TIMEOUT_MS }),
      resolveNamespace(config.VIDEO_NAMESPACE || config.KUBE_NAMESPACE),
    );
  const service = new CatalogService({
    sequelize: w.sequelize,
    Video: initVideoModel(w.sequelize),
    storage,
    kube,
    logger: logger.child({ area: 'catalog' }),
    sourceBucket: config.S3_SOURCE_BUCKET,
    mediaBucket: config.S3_MEDIA_BUCKET,
    uploadStaleSeconds: config.UPLOAD_STALE_SECONDS,
    tombstoneSeconds: config.CATALOG_TOMBSTONE_SECONDS,
  });
  const consumer = new StatusConsumer({
    url: config.AMQP_URL,
    exchange: config.AMQP_EXCHANGE,
    queue: config.AMQP_QUEUE,
    prefetch: config.AMQP_PREFETCH,
    backoffMaxMs: config.AMQP_RECONNECT_MAX_MS,
    maxDeliveries: config.AMQP_MAX_DELIVERIES,
    legacyQueue: config.AMQP_LEGACY_QUEUE,
    timeoutMs: config.AMQP_TIMEOUT_MS,
    isTransient: isDatabaseUnavailable,
    logger: logger.child({ area: 'status-consumer' }),
    handle: (update) => service.applyUpdate(update),
    ...(w.metrics ? { onOutcome: statusMetrics(w.metrics) } : {}),
  });
  if (w.metrics) w.metrics.sources.consumerConnected = () => consumer.connected;
  const uploads = new InFlightUploads();
  const changes = new CatalogChanges({
    sequelize: w.sequelize,
    logger: logger.child({ area: 'catalog-changes' }),
  });
  const resumable = createResumableUploads({
    catalog: service,
    storage,
    sourceBucket: config.S3_SOURCE_BUCKET,
    maxBytes: config.UPLOAD_MAX_BYTES,
    partBytes: config.UPLOAD_PART_BYTES,
    expirySeconds: config.UPLOAD_RESUMABLE_EXPIRY_SECONDS,
    concurrentParts: config.UPLOAD_RESUMABLE_CONCURRENT_PARTS,
    s3: {
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      accessKey: config.S3_ACCESS_KEY ?? '',
      secretKey: config.S3_SECRET_KEY ?? '',
    },
    logger: logger.child({ area: 'resumable-uploads' }),
    inFlight: uploads,
    ...(w.metrics ? { onEvent: resumableMetrics(w.metrics) } : {}),
  });
  const routeDeps: CatalogRouteDeps = {
    uploads,
    resumable,
    changes,
    catalog: service,
    storage,
    mediaBucket: config.S3_MEDIA_BUCKET,
    sourceBucket: config.S3_SOURCE_BUCKET,
    publicApiUrl: w.publicApiUrl,
    uploadMaxBytes: config.UPLOAD_MAX_BYTES,
    signer: new MediaUrlSigner(deriveKey(w.secret, 'thumbnail-url'), config.THUMBNAIL_URL_TTL_SECONDS),
    offload:
      config.STREAMING_MODE === 'offload'
        ? new SegmentUrls({
            presigner: new S3Presigner({
              accessKey: config.S3_ACCESS_KEY ?? '',
              secretKey: config.S3_SECRET_KEY ?? '',
              region: config.S3_REGION,
            }),
            bucket: config.S3_MEDIA_BUCKET,
            ttlSeconds: config.STREAMING_URL_TTL,
            hosts: streamingHosts(config.STREAMING_HOSTS, w.publicApiUrl),
          })
        : undefined,
    logger: logger.child({ area: 'catalog' }),
    ...(w.metrics ? { onUpload: uploadMetrics(w.metrics) } : {}),
  };
  const routers: Array<(x: Parameters<NonNullable<AppDeps['routers']>[number]>[0]) => Router> = [
    ({ auth }) => videoRouter(routeDeps, auth),
    ({ auth }) => adminVideoRouter(routeDeps, auth),
  ];
  return {
    service,
    storage,
    consumer,
    changes,
    routers,
    openApiPaths: catalogOpenApiPaths({ uploadMaxBytes: config.UPLOAD_MAX_BYTES }),
    routeTimeouts: [
      { method: 'POST', path: UPLOAD_PATH, seconds: config.UPLOAD_REQUEST_TIMEOUT_SECONDS },
      { method: 'PATCH', path: RESUMABLE_ROUTE, seconds: config.UPLOAD_REQUEST_TIMEOUT_SECONDS },
    ],
    start() {
      changes.start();
      consumer.start();
      service.startResync(config.CATALOG_RESYNC_SECONDS * 1000);
      resumable.start(config.UPLOAD_RESUMABLE_CLEANUP_SECONDS * 1000);
      void service
        .ensureUploadLifecycle()
        .catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'could not check the sources bucket lifecycle'),
        );
    },
    abortUploads: (ms: number) => uploads.abortAll(ms),
    cleanupResumable: () => resumable.cleanup(),
    async stop() {
      await consumer.stop();
      await service.stopResync();
      await resumable.stop();
      await changes.stop();
    },
  };
}

function uploadMetrics(m: ApiMetrics): NonNullable<CatalogRouteDeps['onUpload']> {
  return (result, bytes, seconds) => {
    m.uploadBytes.inc({ result }, bytes);
    m.uploadDuration.observe({ result }, seconds);
  };
}

function resumableMetrics(m: ApiMetrics): (event: ResumableEvent, n?: number) => void {
  return (event, n = 1) => m.resumableUploads.inc({ event }, n);
}

function statusMetrics(m: ApiMetrics): NonNullable<StatusConsumerOptions['onOutcome']> {
  return ({ outcome, redelivered, lagSeconds }) => {
    m.statusMessages.inc({ outcome });
    if (redelivered) m.statusRedeliveries.inc();
    if (lagSeconds !== undefined) m.statusLag.observe(lagSeconds);
  };
}
