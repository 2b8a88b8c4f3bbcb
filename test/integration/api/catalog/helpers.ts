/**
 * The catalog on the host tier: the real app (createApp + createCatalog) on a fresh database, a
 * throw-away namespace on the real API server (the Video CRD applied from crds/), fresh buckets in
 * versitygw, and an exchange + queue of its own on the real RabbitMQ. No operator runs: tests
 * publish its status messages and write its media themselves.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import amqp from 'amqplib';
import type { Express } from 'express';
import type { Client } from 'minio';
import supertest from 'supertest';
import { loadConfig } from '../../../../common/config/index.js';
import { createLogger } from '../../../../common/logging/index.js';
import { createS3Client } from '../../../../common/storage/index.js';
import {
  ANNOTATIONS,
  API_VERSION,
  GROUP,
  KIND,
  keys,
  PLURAL,
  VERSION,
  type RenditionName,
  type RenditionStatus,
  type Video,
  type VideoStatusMessage,
} from '../../../../common/video/index.js';
import { createApp, type VideoflixApp } from '../../../../api/app.js';
import { createCatalog, type Catalog } from '../../../../api/catalog/index.js';
import { catalogSchema, type CatalogConfig } from '../../../../api/config.js';
import { createSmtpMailer } from '../../../../api/infra/mailer.js';
import type { ApiMetrics } from '../../../../api/infra/metrics.js';
import { initVideoModel, type VideoRow } from '../../../../api/models/video.js';
import { buildMasterPlaylist } from '../../../../operator/video/playlist.js';
import { applyCrds } from '../../../support/hostenv.js';
import { createTestNamespace, deleteNamespace, kubeConfig, uniqueName } from '../../../support/kube.js';
import { testPatternInputs } from '../../../support/media.js';
import { FRONTEND, smtpEnv, testConfig, type ConfigOverrides, type TestApp } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { activeUser, loginUser } from '../helpers/users.js';

const execFileP = promisify(execFile);
export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../..');

export interface Harness {
  db: TestDatabase;
  t: TestApp;
  catalog: Catalog;
  config: CatalogConfig;
  Video: typeof VideoRow;
  namespace: string;
  sources: string;
  media: string;
  s3: Client;
  custom: k8s.CustomObjectsApi;
  /** Cookie header of a signed-in staff user / ordinary user. */
  adminCookie: string;
  userCookie: string;
  /** The app listening on a port (for raw HTTP requests). */
  baseUrl: string;
  publish(msg: VideoStatusMessage, routingKey?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The environment api/main.ts runs with beside the harness, as a deployment runs it: its database,
 * the host tier's API server, S3 server (the harness's buckets), broker (its exchange and queue
 * unless `more` names others) and mail server, listening on 127.0.0.1:`port`; `more` adds the rest.
 */
export function mainEnv(h: Harness, port: number, more: Record<string, string> = {}): Record<string, string> {
  const e = process.env;
  return {
    DATABASE_URL: h.db.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    ...smtpEnv(),
    KUBECONFIG: e.KUBECONFIG!,
    S3_ENDPOINT: e.S3_ENDPOINT!,
    S3_REGION: e.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY: e.S3_ACCESS_KEY!,
    S3_SECRET_KEY: e.S3_SECRET_KEY!,
    S3_SOURCE_BUCKET: h.sources,
    S3_MEDIA_BUCKET: h.media,
    AMQP_URL: e.AMQP_URL!,
    AMQP_EXCHANGE: h.config.AMQP_EXCHANGE,
    AMQP_QUEUE: h.config.AMQP_QUEUE,
    KUBE_NAMESPACE: h.namespace, // as the chart sets it
    ...more,
  };
}

export async function startHarness(
  label: string,
  env: Record<string, string> = {},
  extra: {
    routers?: NonNullable<Parameters<typeof createApp>[0]['routers']>;
    /** The API's metrics, given to the catalog and the app (api/infra/metrics.ts). */
    metrics?: ApiMetrics;
    /** Overrides of the app's test settings (helpers/app.ts testConfig). */
    api?: ConfigOverrides;
  } = {},
): Promise<Harness> {
  const db = await freshDatabase(`catalog_${label}`);
  const kc = kubeConfig();
  await applyCrds(process.env.KUBECONFIG!, [path.join(REPO_ROOT, 'crds')]);
  const namespace = await createTestNamespace(kc, `catalog-${label}`, { waitForServiceAccount: false });
  const s3 = createS3Client({
    S3_ENDPOINT: process.env.S3_ENDPOINT!,
    S3_REGION: process.env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY: process.env.S3_ACCESS_KEY!,
    S3_SECRET_KEY: process.env.S3_SECRET_KEY!,
  });
  const suffix = uniqueName('b').slice(2);
  const sources = `cat-src-${suffix}`;
  const media = `cat-media-${suffix}`;
  await s3.makeBucket(sources, process.env.S3_REGION ?? 'us-east-1');
  await s3.makeBucket(media, process.env.S3_REGION ?? 'us-east-1');
  const exchange = `test.video-status.${suffix}`;

  const config = loadConfig(catalogSchema, {
    ...process.env,
    NODE_ENV: 'test',
    S3_SOURCE_BUCKET: sources,
    S3_MEDIA_BUCKET: media,
    AMQP_EXCHANGE: exchange,
    AMQP_QUEUE: `test.catalog.${suffix}`,
    AMQP_RECONNECT_MAX_MS: '1000',
    VIDEO_NAMESPACE: namespace,
    UPLOAD_MAX_BYTES: String(40 * 1024 * 1024),
    UPLOAD_PART_BYTES: String(5 * 1024 * 1024),
    ...env,
  });
  const apiConfig = testConfig(db, { PUBLIC_API_URL: 'http://api.test:8000', ...extra.api });
  const logger = createLogger('catalog-test', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const catalog = createCatalog({
    config,
    publicApiUrl: apiConfig.PUBLIC_API_URL,
    secret: apiConfig.JWT_SECRET,
    sequelize: db.sequelize,
    logger,
    kube: undefined,
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
  });
  const mailer = createSmtpMailer({
    host: apiConfig.SMTP_HOST,
    port: apiConfig.SMTP_PORT,
    secure: false,
    requireTls: false,
    timeoutMs: apiConfig.SMTP_TIMEOUT_MS,
    from: apiConfig.MAIL_FROM,
  });
  const app: VideoflixApp = createApp({
    config: apiConfig,
    sequelize: db.sequelize,
    models: db.models,
    mailer,
    logger,
    routers: [...catalog.routers, ...(extra.routers ?? [])],
    openApiPaths: catalog.openApiPaths,
    routeTimeouts: catalog.routeTimeouts,
    ...(extra.metrics ? { metrics: extra.metrics } : {}),
  });
  const t: TestApp = {
    app,
    config: apiConfig,
    mailer,
    clock: { offsetMs: 0 },
    agent: () => supertest.agent(app as Express).set('Origin', FRONTEND),
  };
  const admin = await activeUser(t);
  await db.models.User.update({ isStaff: true }, { where: { id: admin.id } });
  const adminSession = await loginUser(t, admin);
  const user = await activeUser(t);
  const userSession = await loginUser(t, user);

  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let conn: amqp.ChannelModel | undefined;
  let ch: amqp.ConfirmChannel | undefined;
  const publish = async (msg: VideoStatusMessage, routingKey?: string) => {
    if (!ch) {
      conn = await amqp.connect(process.env.AMQP_URL!);
      conn.on('error', () => undefined);
      conn.on('close', () => {
        conn = undefined;
        ch = undefined;
      });
      ch = await conn.createConfirmChannel();
      await ch.assertExchange(exchange, 'topic', { durable: true });
    }
    const key = routingKey ?? (msg.deleted ? 'video.deleted' : `video.${msg.phase.toLowerCase()}`);
    ch.publish(exchange, key, Buffer.from(JSON.stringify(msg)), {
      persistent: true,
      contentType: 'application/json',
      messageId: `${msg.uid}:${msg.sequence}`,
    });
    await ch.waitForConfirms();
  };

  return {
    db,
    t,
    catalog,
    config,
    Video: initVideoModel(db.sequelize),
    namespace,
    sources,
    media,
    s3,
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    adminCookie: `access_token=${adminSession.access}`,
    userCookie: `access_token=${userSession.access}`,
    baseUrl,
    publish,
    async close() {
      await catalog.stop();
      await conn?.close().catch(() => undefined);
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      mailer.close();
      await deleteNamespace(kc, namespace).catch(() => undefined);
      for (const b of [sources, media]) await emptyAndRemoveBucket(s3, b).catch(() => undefined);
      await db.drop();
    },
  };
}

/** SHA-256 of bytes, in hex. */
export const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** SHA-256 (hex) and size of an object as the S3 server serves it, read as a stream. */
export async function objectHash(
  s3: Client,
  bucket: string,
  key: string,
): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of (await s3.getObject(bucket, key)) as AsyncIterable<Buffer>) {
    hash.update(c);
    size += c.length;
  }
  return { hash: hash.digest('hex'), size };
}

export async function listKeys(s3: Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s3.listObjectsV2(bucket, prefix, true) as AsyncIterable<{ name?: string }>)
    if (o.name) out.push(o.name);
  return out.sort();
}

export async function incompleteUploads(s3: Client, bucket: string): Promise<string[]> {
  const out: string[] = [];
  for await (const u of s3.listIncompleteUploads(bucket, '', true) as AsyncIterable<{ key: string }>)
    out.push(u.key);
  return out;
}

async function emptyAndRemoveBucket(s3: Client, bucket: string) {
  const names = await listKeys(s3, bucket);
  if (names.length) await s3.removeObjects(bucket, names);
  await s3.removeBucket(bucket);
}

export async function listVideos(h: Harness): Promise<Video[]> {
  const res = (await h.custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: h.namespace,
    plural: PLURAL,
  })) as {
    items: Video[];
  };
  return res.items;
}

/** A Video as `kubectl apply` would create it (no catalog annotation unless given). */
export async function createVideoResource(
  h: Harness,
  opts: { title?: string; catalogId?: number; sourceKey?: string } = {},
): Promise<Video> {
  return (await h.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: h.namespace,
    plural: PLURAL,
    body: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        generateName: 'kubectl-',
        ...(opts.catalogId ? { annotations: { [ANNOTATIONS.catalogId]: String(opts.catalogId) } } : {}),
      },
      spec: {
        title: opts.title ?? 'Applied with kubectl',
        description: 'from yaml',
        category: 'Docs',
        source: { bucket: h.sources, key: opts.sourceKey ?? 'preloaded/source.mp4' },
      },
    },
  })) as Video;
}

let seq = Date.now();
/** An operator-shaped status message for `video` (sequence increasing across calls). */
export function statusMessage(
  video: Pick<Video, 'metadata' | 'spec'>,
  over: Partial<VideoStatusMessage> = {},
): VideoStatusMessage {
  const uid = video.metadata.uid!;
  const phase = over.phase ?? 'Processing';
  const ready = phase === 'Ready';
  const renditions: RenditionStatus[] = ready
    ? [
        { name: '480p', phase: 'Succeeded', playlistKey: keys.playlist(uid, '480p') },
        { name: '720p', phase: 'Succeeded', playlistKey: keys.playlist(uid, '720p') },
        { name: '1080p', phase: 'Skipped', message: 'taller than the source' },
      ]
    : [{ name: '480p', phase: 'Running' }];
  const annotation = video.metadata.annotations?.[ANNOTATIONS.catalogId];
  return {
    namespace: video.metadata.namespace!,
    name: video.metadata.name!,
    uid,
    ...(annotation ? { catalogId: Number(annotation) } : {}),
    generation: 1,
    resourceVersion: video.metadata.resourceVersion ?? '1',
    phase,
    title: video.spec.title,
    description: video.spec.description ?? '',
    category: video.spec.category ?? '',
    renditions,
    ...(ready
      ? { masterPlaylistKey: keys.master(uid), thumbnailKey: keys.thumbnail(uid), durationSeconds: 4 }
      : {}),
    observedAt: new Date().toISOString(),
    sequence: ++seq,
    ...over,
  };
}

/** Bumps a numeric resourceVersion by `n` (a later state of the same object). */
export const laterVersion = (rv: string, n = 1) => String(BigInt(rv) + BigInt(n));

export interface GeneratedHls {
  dir: string;
  /** file name → bytes, per rendition */
  files: Record<RenditionName, string[]>;
  cleanup(): Promise<void>;
}

/** Real HLS made by ffmpeg (segment_NNN.ts + index.m3u8 per rendition) and a JPEG thumbnail. */
export async function generateHls(
  renditions: Array<{ name: RenditionName; height: number }>,
  durationSec = 4,
): Promise<GeneratedHls> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'catalog-hls-'));
  const files = {} as Record<RenditionName, string[]>;
  for (const r of renditions) {
    const out = path.join(dir, r.name);
    await fsp.mkdir(out);
    const w = Math.round((r.height * 16) / 9 / 2) * 2;
    await execFileP('ffmpeg', [
      ...testPatternInputs({ width: w, height: r.height, fps: 25, durationSec, audio: true }),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '50',
      '-sc_threshold',
      '0',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      '-ac',
      '2',
      '-f',
      'hls',
      '-hls_time',
      '2',
      '-hls_playlist_type',
      'vod',
      '-hls_list_size',
      '0',
      '-hls_segment_type',
      'mpegts',
      '-hls_segment_filename',
      path.join(out, 'segment_%03d.ts'),
      path.join(out, 'index.m3u8'),
    ]);
    files[r.name] = (await fsp.readdir(out)).sort();
  }
  await execFileP('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x180:rate=1',
    '-frames:v',
    '1',
    path.join(dir, 'thumbnail.jpg'),
  ]);
  return { dir, files, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

/** Puts generated HLS into the media bucket under the layout of common/video/keys.ts, as the operator and transcoder do. */
export async function putMedia(h: Harness, uid: string, hls: GeneratedHls): Promise<void> {
  const metas = [];
  for (const [name, names] of Object.entries(hls.files) as Array<[RenditionName, string[]]>) {
    for (const f of names) {
      await h.s3.fPutObject(h.media, `${keys.renditionPrefix(uid, name)}${f}`, path.join(hls.dir, name, f), {
        'Content-Type': f.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/MP2T',
      });
    }
    const height = Number(name.replace('p', ''));
    metas.push({
      name,
      width: Math.round((height * 16) / 9 / 2) * 2,
      height,
      bandwidth: height * 3000,
      averageBandwidth: height * 2500,
      codecs: 'avc1.42c01e,mp4a.40.2',
      frameRate: 25,
      segmentDuration: 2,
      segmentStarts: [0, 2],
    });
  }
  const master = Buffer.from(buildMasterPlaylist(metas));
  await h.s3.putObject(h.media, keys.master(uid), master, master.length, {
    'Content-Type': 'application/vnd.apple.mpegurl',
  });
  await h.s3.fPutObject(h.media, keys.thumbnail(uid), path.join(hls.dir, 'thumbnail.jpg'), {
    'Content-Type': 'image/jpeg',
  });
}

/** Sends a multipart upload by hand: the fields, then `fileBytes` of file content produced by `chunk`, then (unless cut) the closing boundary. */
export function rawUpload(
  baseUrl: string,
  cookie: string,
  opts: { fileBytes: number; head: Buffer; cutAfter?: number; chunked?: boolean; title?: string },
): Promise<{ status?: number; body?: string; error?: string }> {
  const boundary = `----catalogtest${Date.now()}`;
  const pre = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${opts.title ?? 'raw upload'}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  );
  const post = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total = pre.length + opts.fileBytes + post.length;
  const url = new URL('/api/admin/videos/', baseUrl);
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        Cookie: cookie,
        Origin: FRONTEND,
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        ...(opts.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(total) }),
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (e) => resolve({ status: res.statusCode, body, error: e.message }));
    });
    // an early answer may race with our writes (EPIPE): prefer the answer when one comes
    req.on('error', (e) => setTimeout(() => resolve({ error: e.message }), 500));
    const block = Buffer.alloc(256 * 1024, 0x5a);
    let sent = 0;
    const limit = opts.cutAfter ?? opts.fileBytes;
    const pump = () => {
      if (sent === 0) req.write(pre);
      while (sent < limit) {
        let piece =
          sent === 0 ? Buffer.concat([opts.head, block.subarray(0, block.length - opts.head.length)]) : block;
        piece = piece.subarray(0, Math.min(piece.length, limit - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (opts.cutAfter !== undefined) {
        // the client goes away half-way: the socket is destroyed without finishing the body
        setTimeout(() => req.destroy(), 200);
        setTimeout(() => resolve({ error: 'cut' }), 300);
        return;
      }
      req.end(post);
    };
    pump();
  });
}

/** The first bytes of an MP4 (ftyp box): enough for the sniffer to call it a video. */
export const MP4_HEAD = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypisom', 'latin1'),
  Buffer.alloc(12),
]);
