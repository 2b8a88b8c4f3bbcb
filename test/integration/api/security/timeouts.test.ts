/**
 * Attacks on request time (issue 21, item 14), against the real API:
 * - a stalled dependency: a real versitygw of this test's own, paused with SIGSTOP, stands for an
 *   object store that accepts connections and never answers. A segment request gets a 503 with a
 *   JSON body after REQUEST_TIMEOUT_SECONDS and its S3 socket is closed (not left waiting);
 *   after SIGCONT the API serves again;
 * - a slow body (slowloris) on a short route is cut after REQUEST_TIMEOUT_SECONDS with a 408, even
 *   though the upload route has an hour;
 * - an upload whose client stalls half-way is cut after UPLOAD_REQUEST_TIMEOUT_SECONDS: 408, its
 *   multipart upload aborted (no parts left in the bucket) and its catalog row removed; the upload
 *   route is not bound by the short timeout;
 * - multipart uploads a crashed process left incomplete are aborted by the resync's sweep (versitygw
 *   has no lifecycle rules to do it).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'minio';
import { createLogger } from '../../../../common/logging/index.js';
import { loadConfig } from '../../../../common/config/index.js';
import { createS3Client } from '../../../../common/storage/index.js';
import { createApp } from '../../../../api/app.js';
import { createCatalog, type Catalog } from '../../../../api/catalog/index.js';
import { catalogSchema } from '../../../../api/config.js';
import { KubeVideos } from '../../../../api/infra/kube.js';
import { ObjectStorage } from '../../../../api/infra/storage.js';
import { CatalogService } from '../../../../api/catalog/service.js';
import { BIN_DIR } from '../../../support/hostenv.js';
import { unreachableKubeConfig } from '../../../support/kube.js';
import { waitFor } from '../../../support/waiters.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort } from '../helpers/process.js';
import { activeUser, loginUser } from '../helpers/users.js';

const UID = '5e0e7a1e-0000-4000-8000-00000000a001';
const SHORT = 2; // REQUEST_TIMEOUT_SECONDS
const UPLOAD = 4; // UPLOAD_REQUEST_TIMEOUT_SECONDS

describe('security: per-route request timeouts and stalled dependencies', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let t: TestApp;
  let s3dir: string;
  let s3proc: ChildProcess | undefined;
  let s3port: number;
  let s3: Client;
  let catalog: Catalog;
  let server: http.Server;
  let base: string;
  let userCookie: string;
  let adminCookie: string;
  let videoId: number;
  const sources = 'timeout-sources';
  const media = 'timeout-media';

  const running = () => s3proc?.pid !== undefined && s3proc.exitCode === null;
  /** Every thread of the store stopped (kill returns before a busy machine has stopped them all). */
  const stopped = async () => {
    const tasks = await readdir(`/proc/${s3proc!.pid}/task`);
    const states = await Promise.all(
      tasks.map(
        async (t) =>
          (await readFile(`/proc/${s3proc!.pid}/task/${t}/stat`, 'utf8')).replace(/^.*\) /s, '')[0],
      ),
    );
    return states.every((state) => state === 'T');
  };
  const s3sockets = () => {
    const name = `127.0.0.1:${s3port}:`;
    return (http.globalAgent.sockets[name] ?? []).length;
  };

  before(async function () {
    db = await freshDatabase('sec_timeouts');
    s3dir = await mkdtemp(path.join(os.tmpdir(), 'vf-timeouts-s3-'));
    s3port = await freePort();
    s3proc = spawn(
      path.join(BIN_DIR, 'versitygw'),
      ['--port', `127.0.0.1:${s3port}`, '--region', 'us-east-1', '--quiet', 'posix', s3dir],
      {
        env: { ...process.env, ROOT_ACCESS_KEY: 'timeouts', ROOT_SECRET_KEY: 'timeouts-secret-0123' },
        stdio: 'ignore',
      },
    );
    const settings = {
      S3_ENDPOINT: `http://127.0.0.1:${s3port}`,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY: 'timeouts',
      S3_SECRET_KEY: 'timeouts-secret-0123',
    };
    s3 = createS3Client(settings);
    await waitFor(async () => (await s3.listBuckets(), true), { timeoutMs: 30_000, what: 'own versitygw' });
    await s3.makeBucket(sources, 'us-east-1');
    await s3.makeBucket(media, 'us-east-1');

    t = buildTestApp(db, {
      REQUEST_TIMEOUT_SECONDS: String(SHORT),
      RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS: '1000',
    });
    const config = loadConfig(catalogSchema, {
      NODE_ENV: 'test',
      ...settings,
      S3_SOURCE_BUCKET: sources,
      S3_MEDIA_BUCKET: media,
      UPLOAD_MAX_BYTES: String(40 * 1024 * 1024),
      UPLOAD_PART_BYTES: String(5 * 1024 * 1024),
      UPLOAD_REQUEST_TIMEOUT_SECONDS: String(UPLOAD),
    });
    // no Kubernetes here: a cluster that is not there (the paths under test never reach it)
    const kc = unreachableKubeConfig(await freePort());
    const logger = createLogger('timeouts-test', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    catalog = createCatalog({
      config,
      publicApiUrl: t.config.PUBLIC_API_URL,
      secret: t.config.JWT_SECRET,
      sequelize: db.sequelize,
      logger,
      kube: new KubeVideos(kc, 'timeouts'),
      storage: ObjectStorage.fromConfig(settings, config.UPLOAD_PART_BYTES),
    });
    const app = createApp({
      config: t.config,
      sequelize: db.sequelize,
      models: db.models,
      mailer: t.mailer,
      logger,
      routers: catalog.routers,
      routeTimeouts: catalog.routeTimeouts,
    });
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const user = await activeUser(t);
    userCookie = `access_token=${(await loginUser(t, user)).access}`;
    const admin = await activeUser(t);
    await db.models.User.update({ isStaff: true }, { where: { id: admin.id } });
    adminCookie = `access_token=${(await loginUser(t, admin)).access}`;

    await catalog.service.applyUpdate({
      source: 'resync',
      namespace: 'timeouts',
      name: 'v',
      uid: UID,
      phase: 'Ready',
      title: 'Streams until the store stalls',
      description: '',
      category: '',
      renditions: [{ name: '480p', phase: 'Succeeded' }],
      masterPlaylistKey: `${UID}/master.m3u8`,
      thumbnailKey: `${UID}/thumbnail.jpg`,
      resourceVersion: '1',
    });
    videoId = (await catalog.service.o.Video.findOne({ where: { uid: UID } }))!.id;
    await s3.putObject(media, `${UID}/480p/segment_000.ts`, Buffer.alloc(188 * 100, 0x47));
  });

  after(async function () {
    if (s3proc && running()) {
      s3proc.kill('SIGCONT');
      s3proc.kill('SIGTERM');
      await new Promise((r) => s3proc!.once('exit', r));
    }
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    t?.mailer.close();
    await db?.drop();
    if (s3dir) await rm(s3dir, { recursive: true, force: true });
  });

  it('answers 503 JSON when the object store stalls, closes its S3 socket, and serves again once it is back', async function () {
    const segment = `${base}/api/video/${videoId}/480p/segment_000.ts/`;
    const ok = await fetch(segment, { headers: { cookie: userCookie } });
    expect(ok.status).to.equal(200);
    expect((await ok.arrayBuffer()).byteLength).to.equal(188 * 100);

    s3proc!.kill('SIGSTOP');
    try {
      await waitFor(stopped, { timeoutMs: 10_000, what: 'the store paused (every thread stopped)' });
      const t0 = performance.now();
      const res = await fetch(segment, { headers: { cookie: userCookie } });
      const took = performance.now() - t0;
      expect(res.status).to.equal(503);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(res.headers.get('retry-after')).to.equal('5');
      expect(await res.json()).to.deep.equal({
        detail: 'The server took too long to answer, try again later.',
      });
      expect(took).to.be.at.least(SHORT * 1000 - 50);
      // the request to the stalled store was aborted: no socket of this process waits on it
      await waitFor(() => s3sockets() === 0, {
        timeoutMs: 10_000,
        what: 'no open socket to the paused store',
      });
    } finally {
      s3proc!.kill('SIGCONT');
    }
    const again = await fetch(segment, { headers: { cookie: userCookie } });
    expect(again.status).to.equal(200);
    expect((await again.arrayBuffer()).byteLength).to.equal(188 * 100);
  });

  it('cuts a slow JSON body on a short route after REQUEST_TIMEOUT_SECONDS (408), whatever the upload allows', async function () {
    const raw = rawConnection();
    raw.sock.write(
      'POST /api/login/ HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"email": "slow',
    );
    const [head, body] = (await raw.answer).split('\r\n\r\n');
    expect(head).to.match(/^HTTP\/1\.1 408 /);
    expect(head).to.match(/\r\ncontent-type: application\/json/i);
    expect(JSON.parse(body!)).to.deep.equal({ detail: 'The request took too long to arrive.' });
  });

  it('gives the upload route its own, longer timeout, and undoes an upload whose client stalls half-way (408)', async function () {
    const rowsBefore = await catalog.service.o.Video.count();
    const boundary = 'vfTimeoutBoundary';
    const raw = rawConnection();
    const sock = raw.sock;
    const head = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="title"',
      '',
      'Never finished',
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="clip.ts"',
      'Content-Type: video/mp2t',
      '',
      '',
    ].join('\r\n');
    // an MPEG-TS looking start (sync bytes every 188) and more than one 5 MiB part, then silence
    const part = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < part.length; i += 188) part[i] = 0x47;
    const t0 = performance.now();
    sock.write(
      `POST /api/admin/videos/ HTTP/1.1\r\nHost: api.test\r\nOrigin: http://frontend.test:4200\r\nCookie: ${adminCookie}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${40 * 1024 * 1024}\r\n\r\n`,
    );
    sock.write(head);
    sock.write(part);
    // a multipart upload is under way in the sources bucket, and its row exists
    await waitFor(async () => (await incompleteUploads()).length === 1, {
      timeoutMs: 30_000,
      what: 'the multipart upload started',
    });
    expect(await catalog.service.o.Video.count()).to.equal(rowsBefore + 1);
    const answer = await raw.answer;
    const took = performance.now() - t0;
    expect(answer.split('\r\n')[0]).to.match(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).to.deep.equal({
      detail: 'The request took too long to arrive.',
    });
    // cut by the upload's own timeout, not by the short one
    expect(took).to.be.at.least(UPLOAD * 1000 - 50);
    await waitFor(async () => (await incompleteUploads()).length === 0, {
      timeoutMs: 30_000,
      what: 'the multipart upload aborted',
    });
    await waitFor(async () => (await catalog.service.o.Video.count()) === rowsBefore, {
      timeoutMs: 30_000,
      what: 'the row of the upload removed',
    });
  });

  describe('incomplete multipart uploads (a crashed upload leaves its parts behind)', function () {
    it('the resync sweep aborts those older than UPLOAD_STALE_SECONDS and leaves younger ones alone', async function () {
      const key = 'crashed-upload/source';
      const uploadId = await s3.initiateNewMultipartUpload(sources, key, {});
      await s3.uploadPart(
        { bucketName: sources, objectName: key, uploadID: uploadId, partNumber: 1, headers: {} },
        Buffer.alloc(5 * 1024 * 1024, 1),
      );
      expect(await incompleteUploads()).to.deep.equal([key]);
      // young (default: a day): an upload in progress could look like this
      expect(await catalog.service.abortIncompleteUploads()).to.equal(0);
      expect(await incompleteUploads()).to.deep.equal([key]);
      // two days later (the service's clock) it is abandoned: aborted, its parts gone
      const later = new CatalogService({ ...catalog.service.o, now: () => Date.now() + 2 * 86_400_000 });
      expect(await later.abortIncompleteUploads()).to.equal(1);
      expect(await incompleteUploads()).to.deep.equal([]);
    });

    it('versitygw takes no lifecycle rule (AbortIncompleteMultipartUpload): the sweep is what cleans up', async function () {
      expect(await catalog.storage.ensureAbortIncompleteRule(sources, 1)).to.equal('unsupported');
    });
  });

  /** A plain TCP connection to the API, to send a request as slowly as an attacker would. */
  function rawConnection(): { sock: net.Socket; answer: Promise<string> } {
    const sock = net.connect(Number(new URL(base).port), '127.0.0.1');
    let answer = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (answer += d));
    // the server closes the connection after its answer
    return { sock, answer: new Promise((resolve) => sock.on('close', () => resolve(answer))) };
  }

  async function incompleteUploads(): Promise<string[]> {
    const res = await s3.listIncompleteUploadsQuery(sources, '', '', '', '');
    return res.uploads.map((u) => u.key);
  }
});
