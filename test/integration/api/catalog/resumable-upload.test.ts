/**
 * Resumable uploads (tus 1.0 at /api/admin/uploads/) on the host tier: real PostgreSQL, versitygw,
 * kube-apiserver. The client here speaks the protocol by hand (node:http), so each step — a dropped
 * connection, a HEAD for the offset, another app instance — is one the test controls.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../../common/logging/index.js';
import { loadConfig } from '../../../../common/config/index.js';
import { createApp } from '../../../../api/app.js';
import { createCatalog, type Catalog } from '../../../../api/catalog/index.js';
import { catalogSchema } from '../../../../api/config.js';
import { createApiMetrics } from '../../../../api/infra/metrics.js';
import { VIDEO_ID_HEADER } from '../../../../api/catalog/routes/resumable.js';
import { waitFor } from '../../../support/waiters.js';
import { FRONTEND } from '../helpers/app.js';
import { freePort, startCommand, untilReady } from '../helpers/process.js';
import {
  incompleteUploads,
  listKeys,
  listVideos,
  mainEnv,
  MP4_HEAD,
  objectHash,
  sha256,
  startHarness,
  type Harness,
} from './helpers.js';

const MiB = 1024 * 1024;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function meta(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** One HTTP request; `body` is written in slices; `dropAfter` bytes destroy the socket mid-body. */
function request(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: { data: Buffer; dropAfter?: number },
): Promise<Answer | 'dropped'> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, baseUrl), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', () => resolve('dropped'));
    });
    req.on('error', (err) => (body?.dropAfter !== undefined ? resolve('dropped') : reject(err)));
    if (!body) return void req.end();
    const { data, dropAfter } = body;
    let at = 0;
    const step = 256 * 1024;
    const write = () => {
      while (at < data.length) {
        if (dropAfter !== undefined && at >= dropAfter) {
          // the connection dies with the body half-sent (a dropped network, a killed proxy)
          setTimeout(() => {
            req.destroy();
            resolve('dropped');
          }, 300);
          return;
        }
        const slice = data.subarray(at, Math.min(at + step, data.length));
        at += slice.length;
        if (!req.write(slice)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

class TusClient {
  constructor(
    public baseUrl: string,
    private readonly cookie: string,
    private readonly origin: string | null = FRONTEND,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'Tus-Resumable': '1.0.0',
      Cookie: this.cookie,
      ...(this.origin ? { Origin: this.origin } : {}),
      ...extra,
    };
  }

  async create(length: number, fields: Record<string, string>): Promise<Answer> {
    const a = await request(
      this.baseUrl,
      'POST',
      '/api/admin/uploads/',
      this.headers({ 'Upload-Length': String(length), 'Upload-Metadata': meta(fields) }),
    );
    return a as Answer;
  }

  async head(url: string): Promise<Answer> {
    return (await request(this.baseUrl, 'HEAD', url, this.headers())) as Answer;
  }

  patch(url: string, offset: number, data: Buffer, dropAfter?: number): Promise<Answer | 'dropped'> {
    return request(
      this.baseUrl,
      'PATCH',
      url,
      this.headers({
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(data.length),
      }),
      { data, ...(dropAfter !== undefined ? { dropAfter } : {}) },
    );
  }
}

/** A file that sniffs as MP4 (the transcoder never sees it on this tier). */
const videoLike = (bytes: number) => Buffer.concat([MP4_HEAD, randomBytes(bytes - MP4_HEAD.length)]);

/** A second app instance on the same database, buckets and namespace: another replica, or the restarted Pod. */
async function secondInstance(h: Harness, env: Record<string, string> = {}) {
  const config = loadConfig(catalogSchema, {
    ...process.env,
    NODE_ENV: 'test',
    S3_SOURCE_BUCKET: h.sources,
    S3_MEDIA_BUCKET: h.media,
    AMQP_EXCHANGE: `test.video-status.second.${h.sources}`,
    AMQP_QUEUE: `test.catalog.second.${h.sources}`,
    VIDEO_NAMESPACE: h.namespace,
    UPLOAD_MAX_BYTES: String(h.config.UPLOAD_MAX_BYTES),
    UPLOAD_PART_BYTES: String(h.config.UPLOAD_PART_BYTES),
    ...env,
  });
  const logger = createLogger('catalog-test-2', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const catalog: Catalog = createCatalog({
    config,
    publicApiUrl: h.t.config.PUBLIC_API_URL,
    secret: h.t.config.JWT_SECRET,
    sequelize: h.db.sequelize,
    logger,
  });
  const app = createApp({
    config: h.t.config,
    sequelize: h.db.sequelize,
    models: h.db.models,
    mailer: h.t.mailer,
    logger,
    routers: catalog.routers,
    routeTimeouts: catalog.routeTimeouts,
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    catalog,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('api catalog: resumable uploads (tus 1.0 at /api/admin/uploads/)', function () {
  this.timeout(300_000);
  let h: Harness;
  let tus: TusClient;
  const metrics = createApiMetrics();

  before(async function () {
    h = await startHarness(
      'tus',
      { UPLOAD_MAX_BYTES: String(300 * MiB), UPLOAD_PART_BYTES: String(8 * MiB) },
      { metrics },
    );
    tus = new TusClient(h.baseUrl, h.adminCookie);
  });
  after(async function () {
    await h?.close();
  });

  async function rowsOf(key: string) {
    return h.Video.findAll({ where: { sourceKey: key } });
  }
  const keyOf = (location: string) => `${location.split('/').filter(Boolean).pop()}/source`;

  it('refuses non-staff (401 / 403), a foreign or missing Origin (403), too large (413), bad metadata (400)', async function () {
    const fields = { title: 'x' };
    const anon = await new TusClient(h.baseUrl, '').create(1000, fields);
    expect(anon.status).to.equal(401);
    const user = await new TusClient(h.baseUrl, h.userCookie).create(1000, fields);
    expect(user.status).to.equal(403);
    const foreign = await new TusClient(h.baseUrl, h.adminCookie, 'https://evil.example').create(
      1000,
      fields,
    );
    expect(foreign.status).to.equal(403);
    expect(JSON.parse(foreign.body).detail).to.match(/CSRF Failed/);
    const missing = await new TusClient(h.baseUrl, h.adminCookie, null).create(1000, fields);
    expect(missing.status).to.equal(403);
    const big = await tus.create(h.config.UPLOAD_MAX_BYTES + 1, fields);
    expect(big.status).to.equal(413);
    expect(JSON.parse(big.body).detail).to.match(/larger than the limit/);
    const blank = await tus.create(1000, { title: '  ' });
    expect(blank.status).to.equal(400);
    expect(JSON.parse(blank.body)).to.have.property('title');
    const long = await tus.create(1000, { title: 'x'.repeat(201) });
    expect(long.status).to.equal(400);
    const deferred = await request(
      h.baseUrl,
      'POST',
      '/api/admin/uploads/',
      tus.headers({ 'Upload-Defer-Length': '1', 'Upload-Metadata': meta(fields) }),
    );
    expect((deferred as Answer).status).to.equal(400);
    // a PATCH of another user's session to an existing upload is refused too
    const ok = await tus.create(1000, fields);
    expect(ok.status, ok.body).to.equal(201);
    const url = ok.headers.location!;
    const userPatch = await new TusClient(h.baseUrl, h.userCookie).patch(url, 0, videoLike(1000));
    expect((userPatch as Answer).status).to.equal(403);
    const foreignPatch = await new TusClient(h.baseUrl, h.adminCookie, 'https://evil.example').patch(
      url,
      0,
      videoLike(1000),
    );
    expect((foreignPatch as Answer).status).to.equal(403);
    expect((await tus.head(url)).headers['upload-offset']).to.equal('0');
    expect(await h.Video.count()).to.equal(0);
  });

  it('refuses a first chunk that is not a video (415, with the reason) and removes the upload', async function () {
    const created = await tus.create(64 * 1024, { title: 'noise' });
    expect(created.status).to.equal(201);
    const url = created.headers.location!;
    const key = keyOf(url);
    expect(await listKeys(h.s3, h.sources, key.split('/')[0])).to.include(`${key}.info`);
    const res = (await tus.patch(url, 0, randomBytes(64 * 1024))) as Answer;
    expect(res.status).to.equal(415);
    expect(JSON.parse(res.body).file[0]).to.match(/not a video/);
    expect(await listKeys(h.s3, h.sources, key.split('/')[0])).to.deep.equal([]);
    expect(await incompleteUploads(h.s3, h.sources)).to.not.include(key);
    expect((await tus.head(url)).status).to.equal(404);
    expect(await h.Video.count({ where: { sourceKey: key } })).to.equal(0);
  });

  it('completes in several PATCHes (parts and short ones) and creates exactly one Video, even when the finish is asked again', async function () {
    const data = videoLike(20 * MiB + 12345);
    const created = await tus.create(data.length, {
      title: 'Resumable',
      description: 'in pieces',
      category: 'Tests',
      filename: 'clip.mp4',
    });
    expect(created.status, created.body).to.equal(201);
    expect(created.headers['upload-expires']).to.be.a('string');
    const url = created.headers.location!;
    expect(url).to.match(/^\/api\/admin\/uploads\/[0-9a-f-]{36}\/$/);
    const cuts = [0, 3 * MiB, 11 * MiB, 11 * MiB + 100, 19 * MiB, data.length];
    let last: Answer | undefined;
    for (let i = 1; i < cuts.length; i++) {
      const a = await tus.patch(url, cuts[i - 1]!, data.subarray(cuts[i - 1], cuts[i]));
      expect(a).to.not.equal('dropped');
      last = a as Answer;
      expect(last.status, last.body).to.equal(204);
      expect(last.headers['upload-offset']).to.equal(String(cuts[i]));
    }
    const videoId = last!.headers[VIDEO_ID_HEADER.toLowerCase()];
    expect(videoId).to.match(/^\d+$/);
    const key = keyOf(url);
    const rows = await rowsOf(key);
    expect(rows).to.have.length(1);
    expect(String(rows[0]!.id)).to.equal(videoId);
    expect(rows[0]!).to.deep.include({
      title: 'Resumable',
      description: 'in pieces',
      category: 'Tests',
      phase: 'Pending',
    });
    expect(Number(rows[0]!.sourceSize)).to.equal(data.length);
    expect(await objectHash(h.s3, h.sources, key)).to.deep.equal({ hash: sha256(data), size: data.length });
    // the finish asked again: a HEAD (a client whose last answer was lost) and a zero-length PATCH
    const head = await tus.head(url);
    expect(head.status).to.equal(200);
    expect(head.headers['upload-offset']).to.equal(String(data.length));
    expect(head.headers[VIDEO_ID_HEADER.toLowerCase()]).to.equal(videoId);
    // a finished upload is a Video's source: tus termination may not remove it
    const del = await request(h.baseUrl, 'DELETE', url, tus.headers());
    expect((del as Answer).status).to.equal(400);
    expect((await h.s3.statObject(h.sources, key)).size).to.equal(data.length);
    // and from another instance (the finish hook run again after a restart): still the one Video
    const second = await secondInstance(h);
    try {
      const again = await new TusClient(second.baseUrl, h.adminCookie).head(url);
      expect(again.headers[VIDEO_ID_HEADER.toLowerCase()]).to.equal(videoId);
    } finally {
      await second.close();
    }
    expect(await rowsOf(key)).to.have.length(1);
    const videos = (await listVideos(h)).filter((v) => v.spec.source.key === key);
    expect(videos).to.have.length(1);
    expect(videos[0]!.metadata.uid).to.equal(rows[0]!.uid);
  });

  it('resumes from the server offset after a connection dropped mid-PATCH, on another app instance (a restarted process), with the exact bytes', async function () {
    const data = videoLike(26 * MiB + 777);
    const created = await tus.create(data.length, { title: 'Dropped' });
    const url = created.headers.location!;
    const key = keyOf(url);
    expect(((await tus.patch(url, 0, data.subarray(0, 9 * MiB))) as Answer).status).to.equal(204);
    // the connection dies with 12 MiB of the next 17 MiB sent
    expect(await tus.patch(url, 9 * MiB, data.subarray(9 * MiB), 12 * MiB)).to.equal('dropped');
    const offset = await waitFor(
      async () => {
        const head = await tus.head(url);
        const o = Number(head.headers['upload-offset']);
        // the store has written what it could of the cut request (whole parts) and released its lock
        const again = await tus.head(url);
        return Number(again.headers['upload-offset']) === o && o >= 9 * MiB ? o : undefined;
      },
      { timeoutMs: 30_000, what: 'a stable offset after the drop' },
    );
    expect(offset).to.be.within(9 * MiB, 21 * MiB);
    // the API restarted: another instance (empty caches and locks) takes over at the server's offset
    const second = await secondInstance(h);
    try {
      const tus2 = new TusClient(second.baseUrl, h.adminCookie);
      const head = await tus2.head(url);
      expect(Number(head.headers['upload-offset'])).to.equal(offset);
      const wrong = (await tus2.patch(url, 0, data.subarray(0, 1000))) as Answer;
      expect(wrong.status).to.equal(409);
      const mid = offset + Math.floor((data.length - offset) / 2);
      expect(((await tus2.patch(url, offset, data.subarray(offset, mid))) as Answer).status).to.equal(204);
      const done = (await tus2.patch(url, mid, data.subarray(mid))) as Answer;
      expect(done.status, done.body).to.equal(204);
      expect(done.headers[VIDEO_ID_HEADER.toLowerCase()]).to.match(/^\d+$/);
    } finally {
      await second.close();
    }
    expect(await objectHash(h.s3, h.sources, key)).to.deep.equal({ hash: sha256(data), size: data.length });
    expect(await rowsOf(key)).to.have.length(1);
    expect(await incompleteUploads(h.s3, h.sources)).to.not.include(key);
  });

  it('removes expired uploads: the multipart upload aborted, .info and .part deleted; a PATCH after the expiry gets 410', async function () {
    const second = await secondInstance(h, {
      UPLOAD_RESUMABLE_EXPIRY_SECONDS: '2',
    });
    try {
      const tus2 = new TusClient(second.baseUrl, h.adminCookie);
      const data = videoLike(7 * MiB);
      const created = await tus2.create(data.length, { title: 'Abandoned' });
      const url = created.headers.location!;
      const key = keyOf(url);
      // 3 MiB: less than S3's smallest part, so it waits in the .part object
      expect(((await tus2.patch(url, 0, data.subarray(0, 3 * MiB))) as Answer).status).to.equal(204);
      expect(await incompleteUploads(h.s3, h.sources)).to.include(key);
      expect(await listKeys(h.s3, h.sources, key.split('/')[0])).to.include.members([
        `${key}.info`,
        `${key}.part`,
      ]);
      await new Promise((r) => setTimeout(r, 2500));
      const late = (await tus2.patch(url, 3 * MiB, data.subarray(3 * MiB))) as Answer;
      expect(late.status).to.equal(410);
      const removed = await second.catalog.cleanupResumable();
      expect(removed).to.be.at.least(1);
      expect(await incompleteUploads(h.s3, h.sources)).to.not.include(key);
      expect(await listKeys(h.s3, h.sources, key.split('/')[0])).to.deep.equal([]);
      // completed uploads keep their source and row; only their .info goes after the expiry
      const rows = await h.Video.findAll({ where: { phase: 'Pending' } });
      expect(rows.length).to.be.at.least(1);
      for (const row of rows) {
        const left = await listKeys(h.s3, h.sources, row.sourceKey!.split('/')[0]);
        expect(left).to.deep.equal([row.sourceKey]);
      }
    } finally {
      await second.close();
    }
  });

  it("counts the uploads in the API's metrics (created, resumed, completed, refused)", async function () {
    const counts = Object.fromEntries(
      (await metrics.resumableUploads.get()).values.map((v) => [String(v.labels.event), v.value]),
    );
    // this instance's share of the tests above (the second instance has no metrics)
    expect(counts.created).to.be.at.least(4);
    expect(counts.refused).to.equal(1);
    expect(counts.completed).to.equal(1);
    expect(counts.resumed).to.be.at.least(3);
  });

  it('main.ts: a 256 MiB upload killed (SIGKILL) mid-PATCH resumes on the restarted process; its RSS stays bounded (figures printed)', async function () {
    const total = 256 * MiB;
    const chunk = 32 * MiB;
    const body = Buffer.concat(Array.from({ length: chunk / MiB }, () => videoLike(MiB)));
    const port = await freePort();
    const env = mainEnv(h, port, {
      JWT_SECRET: h.t.config.JWT_SECRET,
      FRONTEND_URL: FRONTEND,
      CORS_ALLOWED_ORIGINS: FRONTEND,
      AUTH_COOKIE_SECURE: 'false',
      LOG_LEVEL: 'warn',
      AMQP_EXCHANGE: `${h.config.AMQP_EXCHANGE}.main`,
      AMQP_QUEUE: `${h.config.AMQP_QUEUE}.main`,
      UPLOAD_MAX_BYTES: String(300 * MiB),
      UPLOAD_PART_BYTES: String(8 * MiB),
    });
    const base = `http://127.0.0.1:${port}`;
    const start = async () => {
      const app = startCommand('api/main.ts', [], env);
      await untilReady(app, `${base}/readyz`, 'main.ts ready');
      return app;
    };
    const rssOf = async (pid: number) => {
      const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
    };
    let app = await start();
    const client = new TusClient(base, h.adminCookie);
    const created = await client.create(total, { title: 'Killed and resumed' });
    expect(created.status, created.body).to.equal(201);
    const url = created.headers.location!;
    let before = await rssOf(app.child.pid!);
    let peak = before;
    let sampled = app.child.pid!;
    const warmed = new Set<number>();
    let warm = 0;
    let steadyPeak = 0;
    const sampler = setInterval(() => {
      rssOf(sampled).then(
        (r) => {
          peak = Math.max(peak, r);
          if (warmed.has(sampled)) steadyPeak = Math.max(steadyPeak, r);
        },
        () => undefined,
      );
    }, 50);
    const t0 = Date.now();
    let last: Answer | undefined;
    let killedAt: number | undefined;
    try {
      let offset = 0;
      while (offset < total) {
        if (killedAt === undefined && offset >= 96 * MiB) {
          // the process dies with a PATCH half-received (a Pod deleted; SIGKILL: no graceful shutdown)
          const cut = client.patch(url, offset, body.subarray(offset % chunk), 20 * MiB);
          await new Promise((r) => setTimeout(r, 200));
          app.child.kill('SIGKILL');
          expect(await cut).to.equal('dropped');
          await app.done;
          killedAt = offset;
          app = await start();
          sampled = app.child.pid!;
          before = Math.max(before, await rssOf(sampled));
          const head = await client.head(url);
          offset = Number(head.headers['upload-offset']);
          expect(offset).to.be.at.least(killedAt);
          continue;
        }
        // the file is `body` eight times over: the bytes at `offset` start at offset % chunk of it
        const at = offset % chunk;
        const part = body.subarray(at, Math.min(chunk, at + total - offset));
        last = (await client.patch(url, offset, part)) as Answer;
        expect(last.status, last.body).to.equal(204);
        offset += part.length;
        // after a process's first PATCH its modules, pools and buffers are there: growth past that is per byte
        if (!warmed.has(sampled)) {
          warmed.add(sampled);
          warm = Math.max(warm, await rssOf(sampled));
          steadyPeak = warm;
        }
      }
    } finally {
      clearInterval(sampler);
      app.child.kill('SIGTERM');
      await app.done;
    }
    const seconds = (Date.now() - t0) / 1000;
    expect(last!.headers[VIDEO_ID_HEADER.toLowerCase()]).to.match(/^\d+$/);
    const growth = (peak - before) / MiB;
    const steady = (steadyPeak - warm) / MiB;
    console.log(
      `      main.ts, 256 MiB in 32 MiB PATCHes, killed at ${killedAt! / MiB} MiB and resumed: ` +
        `RSS ${(before / MiB).toFixed(0)} MiB at start, ${(warm / MiB).toFixed(0)} MiB after the first PATCH, ` +
        `peak ${(peak / MiB).toFixed(0)} MiB (+${growth.toFixed(0)} MiB from start, +${steady.toFixed(0)} MiB ` +
        `after the first PATCH over the remaining ~200 MiB), ${(256 / seconds).toFixed(1)} MiB/s end to end on loopback`,
    );
    expect(growth, 'RSS growth of the API process from start (MiB)').to.be.below(160);
    expect(steady, 'RSS growth of the API process past its first PATCH (MiB)').to.be.below(48);
    const key = keyOf(url);
    expect((await h.s3.statObject(h.sources, key)).size).to.equal(total);
    const hash = await objectHash(h.s3, h.sources, key);
    const expected = createHash('sha256');
    for (let o = 0; o < total; o += chunk) expected.update(body.subarray(0, Math.min(chunk, total - o)));
    expect(hash.hash).to.equal(expected.digest('hex'));
    expect(await rowsOf(key)).to.have.length(1);
  });
});
