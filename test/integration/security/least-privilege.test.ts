/**
 * Issue 21, item 10: each component has its own S3 identity and RabbitMQ user with only what it
 * needs (common/grants). On the host tier's versitygw (internal IAM) the bucket hook's code
 * (api/cli/setup-storage.ts) creates the three users and the bucket policies; on its RabbitMQ the
 * bundled broker's script (images/rabbitmq/ensure-users.sh) creates the two users. Then every identity
 * attempts what a compromised Pod of another component would: the attacks fail with AccessDenied /
 * ACCESS_REFUSED, the component's own work succeeds.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { expect } from 'chai';
import type { Client } from 'minio';
import { setupStorage, setupStorageSchema } from '../../../api/cli/setup-storage.js';
import { loadConfig } from '../../../common/config/index.js';
import {
  amqpPermissions,
  COMPONENTS,
  progressQueueName,
  type Component,
} from '../../../common/grants/index.js';
import { createS3Client } from '../../../common/storage/index.js';
import { S3Presigner, presignPath } from '../../../common/storage/presign.js';
import { getWithHost } from '@videoflix/testkit/http';
import { hostEnv, REPO_ROOT } from '../../support/hostenv.js';

const execFileP = promisify(execFile);
const id = crypto.randomBytes(4).toString('hex');
const secret = () => crypto.randomBytes(24).toString('base64url');

/** The error code an S3 call failed with ('ok' when it did not fail). */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    const r = await p;
    if (r && typeof (r as NodeJS.ReadableStream).resume === 'function') (r as NodeJS.ReadableStream).resume();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('security: per-component S3 identities (versitygw IAM + bucket policies)', function () {
  const sources = `lp-src-${id}`;
  const media = `lp-media-${id}`;
  const ids = Object.fromEntries(
    COMPONENTS.map((c) => [c, { access: `vf-${c}-${id}`, secret: secret() }]),
  ) as Record<Component, { access: string; secret: string }>;
  let root: Client;
  const as: Partial<Record<Component, Client>> = {};
  const lines: string[] = [];
  const cfgEnv = () => ({
    ...hostEnv().env,
    S3_SOURCE_BUCKET: sources,
    S3_MEDIA_BUCKET: media,
    S3_CREATE_USERS: 'versitygw',
    S3_BUCKET_POLICIES: 'true',
    ...Object.fromEntries(
      COMPONENTS.flatMap((c) => [
        [`S3_${c.toUpperCase()}_ACCESS_KEY`, ids[c].access],
        [`S3_${c.toUpperCase()}_SECRET_KEY`, ids[c].secret],
      ]),
    ),
  });

  before(async function () {
    const env = hostEnv().env;
    await setupStorage(loadConfig(setupStorageSchema, cfgEnv()), (l) => lines.push(l));
    root = createS3Client(env);
    for (const c of COMPONENTS)
      as[c] = createS3Client({ ...env, S3_ACCESS_KEY: ids[c].access, S3_SECRET_KEY: ids[c].secret });
    // what the platform has by then: an uploaded source and a finished rendition of another video
    await root.putObject(sources, 'uploads/1/source.mp4', Buffer.from('source bytes'));
    await root.putObject(media, '2/720p/segment_000.ts', Buffer.from('other video'));
  });

  after(async function () {
    for (const b of [sources, media]) {
      const keys: string[] = [];
      for await (const o of root.listObjectsV2(b, '', true)) if (o.name) keys.push(o.name);
      await root.removeObjects(b, keys);
      await root.removeBucket(b);
    }
  });

  it('the hook created the buckets, the three users and a policy on each bucket', function () {
    expect(lines).to.include.members([`bucket ${sources}: created`, `bucket ${media}: created`]);
    for (const c of COMPONENTS) expect(lines).to.include(`user ${ids[c].access} (${c}): created`);
    expect(lines.filter((l) => l.includes(': policy set'))).to.have.length(2);
  });

  it('runs again without error (upgrade): the users are updated, not duplicated', async function () {
    const again: string[] = [];
    await setupStorage(loadConfig(setupStorageSchema, cfgEnv()), (l) => again.push(l));
    for (const c of COMPONENTS) expect(again).to.include(`user ${ids[c].access} (${c}): updated`);
    expect(await outcome(as.api!.statObject(sources, 'uploads/1/source.mp4'))).to.equal('ok');
  });

  it('the transcoder reads its source, reads and writes media (chunked renditions), and nothing else', async function () {
    const t = as.transcoder!;
    expect(await outcome(t.statObject(sources, 'uploads/1/source.mp4'))).to.equal('ok');
    expect(await outcome(t.getObject(sources, 'uploads/1/source.mp4'))).to.equal('ok');
    expect(await outcome(t.bucketExists(media))).to.equal('ok');
    expect(await outcome(t.putObject(media, '1/720p/segment_000.ts', Buffer.from('ts')))).to.equal('ok');
    // chunk Pods read their audio piece, the stitch step the chunks' segments (issue 24)
    expect(await outcome(t.getObject(media, '2/720p/segment_000.ts')), 'read media').to.equal('ok');
    // a compromised transcoder Pod:
    expect(await outcome(t.removeObject(media, '2/720p/segment_000.ts')), 'delete media').to.equal(
      'AccessDenied',
    );
    expect(await outcome(t.removeObject(sources, 'uploads/1/source.mp4')), 'delete a source').to.equal(
      'AccessDenied',
    );
    expect(
      await outcome(t.putObject(sources, 'uploads/1/source.mp4', Buffer.from('x'))),
      'overwrite a source',
    ).to.equal('AccessDenied');
    expect(await outcome(t.makeBucket(`lp-evil-${id}`, 'us-east-1')), 'create a bucket').to.equal(
      'AccessDenied',
    );
    expect(
      await outcome(root.statObject(media, '2/720p/segment_000.ts')),
      'the object is still there',
    ).to.equal('ok');
  });

  it('the API uploads sources and reads media, but cannot write or delete media', async function () {
    const a = as.api!;
    expect(await outcome(a.putObject(sources, 'uploads/3/source.mp4', Buffer.from('upload')))).to.equal('ok');
    expect(await outcome(a.removeObject(sources, 'uploads/3/source.mp4'))).to.equal('ok');
    expect(await outcome(a.getObject(media, '2/720p/segment_000.ts'))).to.equal('ok');
    expect(
      await outcome(a.putObject(media, '2/master.m3u8', Buffer.from('#EXTM3U'))),
      'forge a playlist',
    ).to.equal('AccessDenied');
    expect(await outcome(a.removeObject(media, '2/720p/segment_000.ts')), 'delete media').to.equal(
      'AccessDenied',
    );
    expect(await outcome(a.listObjectsV2(media, '', true).toArray()), 'list media').to.equal('AccessDenied');
    // the resync's sweep of multipart uploads left incomplete (found denied on kind): sources only, and it
    // lists upload ids, not the bucket's objects
    expect(await outcome(a.listIncompleteUploadsQuery(sources, '', '', '', '')), 'sweep sources').to.equal(
      'ok',
    );
    expect(await outcome(a.listIncompleteUploadsQuery(media, '', '', '', '')), 'sweep media').to.equal(
      'AccessDenied',
    );
    expect(await outcome(a.listObjectsV2(sources, '', true).toArray()), 'list sources').to.equal(
      'AccessDenied',
    );
  });

  it("the API runs a resumable (tus) upload's S3 calls with its own identity: multipart, list parts, complete, abort", async function () {
    const a = as.api!;
    const key = `${crypto.randomUUID()}/source`;
    // what @tus/s3-store does: the .info object, a multipart upload, parts, the parts listed on resume
    expect(await outcome(a.putObject(sources, `${key}.info`, Buffer.from('{}')))).to.equal('ok');
    const uploadId = await a.initiateNewMultipartUpload(sources, key, {});
    const part = await a.uploadPart(
      { bucketName: sources, objectName: key, uploadID: uploadId, partNumber: 1, headers: {} },
      Buffer.alloc(5 * 1024 * 1024, 1),
    );
    // (ListParts: minio's listParts is protected in its types, the call is the same)
    const listParts = (k: string, u: string) =>
      (a as unknown as { listParts(b: string, k: string, u: string): Promise<unknown[]> }).listParts(
        sources,
        k,
        u,
      );
    expect(await outcome(listParts(key, uploadId)), 'list the parts of an upload').to.equal('ok');
    expect(await listParts(key, uploadId)).to.have.length(1);
    await a.completeMultipartUpload(sources, key, uploadId, [{ part: 1, etag: part.etag }]);
    expect((await a.statObject(sources, key)).size).to.equal(5 * 1024 * 1024);
    // the expiry's clean-up: another upload aborted, objects removed
    const abandoned = await a.initiateNewMultipartUpload(sources, `${key}-2`, {});
    expect(await outcome(a.abortMultipartUpload(sources, `${key}-2`, abandoned))).to.equal('ok');
    expect(await outcome(a.removeObjects(sources, [key, `${key}.info`]))).to.equal('ok');
    // still no listing of the objects, and no parts of media uploads
    expect(await outcome(a.listObjectsV2(sources, '', true).toArray()), 'list sources').to.equal(
      'AccessDenied',
    );
  });

  it("streaming offload: a URL presigned with the API's identity serves media (its read grant), not a listing", async function () {
    const s3 = new URL(hostEnv().env.S3_ENDPOINT!);
    const signer = new S3Presigner({
      accessKey: ids.api.access,
      secretKey: ids.api.secret,
      region: hostEnv().env.S3_REGION ?? 'us-east-1',
    });
    const url = (p: string) =>
      `${s3.origin}${signer.presignGet({ host: s3.host, path: p, date: new Date(), expiresSeconds: 600 })}`;
    const got = await getWithHost(url(presignPath(media, '2/720p/segment_000.ts')), s3.host);
    expect(got.status, got.body.toString()).to.equal(200);
    expect(got.body.toString()).to.equal('other video');
    expect((await getWithHost(url(`/${media}/`), s3.host)).status, 'list media').to.equal(403);
  });

  it('the operator writes playlists and deletes a video, but cannot read sources', async function () {
    const o = as.operator!;
    expect(await outcome(o.putObject(media, '1/master.m3u8', Buffer.from('#EXTM3U')))).to.equal('ok');
    expect(await outcome(o.getObject(media, '1/master.m3u8'))).to.equal('ok');
    expect(await outcome(o.removeObject(media, '1/master.m3u8'))).to.equal('ok');
    expect(await outcome(o.getObject(sources, 'uploads/1/source.mp4')), 'read a source').to.equal(
      'AccessDenied',
    );
    expect(
      await outcome(o.putObject(sources, 'uploads/9/x.mp4', Buffer.from('x'))),
      'write a source',
    ).to.equal('AccessDenied');
  });
});

describe('security: per-component RabbitMQ users (permissions per vhost)', function () {
  const exchange = `lp.status.${id}`;
  const queue = `lp.api.${id}`;
  const progress = `lp.progress.${id}`;
  const progressQueue = progressQueueName(progress, `operator-0-${id}`);
  const users = {
    api: { user: `vf-api-${id}`, pass: secret() },
    // a password that starts with "-" (rabbitmqctl once read it as an option): ensure-users.sh passes "--"
    operator: { user: `vf-operator-${id}`, pass: `-${secret()}` },
    transcoder: { user: `vf-transcoder-${id}`, pass: secret() },
  };
  const conns: amqp.ChannelModel[] = [];
  const url = (u: { user: string; pass: string }) => {
    const base = new URL(hostEnv().env.AMQP_URL);
    base.username = u.user;
    base.password = u.pass;
    return base.toString();
  };
  const connect = async (u: { user: string; pass: string }) => {
    const c = await amqp.connect(url(u));
    c.on('error', () => undefined);
    conns.push(c);
    return c;
  };

  before(async function () {
    const rabbit = hostEnv().state.processes.rabbitmq;
    if (!rabbit) throw new Error('the host tier has no RabbitMQ');
    const perms = amqpPermissions(exchange, queue, undefined, progress);
    const input = (['api', 'operator', 'transcoder'] as const)
      .map((c) => {
        const p = perms[c]!;
        return `${users[c].user} ${users[c].pass} ${p.configure} ${p.write} ${p.read}\n`;
      })
      .join('');
    const child = execFile(path.join(REPO_ROOT, 'images/rabbitmq/ensure-users.sh'), {
      env: { ...rabbit.spec.env, PATH: `/usr/lib/rabbitmq/bin:${rabbit.spec.env.PATH ?? '/usr/bin:/bin'}` },
    });
    const out: string[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
    child.stdin?.end(input);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, out.join('')).to.equal(0);
    expect(out.join(''), 'ensure-users.sh output').to.include(`rabbitmq user ${users.operator.user}:`);
  });

  after(async function () {
    for (const c of conns) await c.close().catch(() => undefined);
    const admin = await amqp.connect(hostEnv().env.AMQP_URL);
    const ch = await admin.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteExchange(exchange);
    await ch.deleteExchange(progress);
    await admin.close();
    const rabbit = hostEnv().state.processes.rabbitmq!;
    for (const u of Object.values(users)) {
      await execFileP('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-q', 'delete_user', u.user], {
        env: rabbit.spec.env,
      });
    }
  });

  it('the operator publishes status, the API consumes it from its own queue', async function () {
    const api = await (await connect(users.api)).createChannel();
    await api.assertExchange(exchange, 'topic', { durable: true });
    await api.assertQueue(queue, { durable: true });
    await api.bindQueue(queue, exchange, 'video.#');

    const op = await (await connect(users.operator)).createConfirmChannel();
    await op.assertExchange(exchange, 'topic', { durable: true });
    await new Promise<void>((resolve, reject) =>
      op.publish(exchange, 'video.7.status', Buffer.from('{"phase":"Ready"}'), { persistent: true }, (err) =>
        err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      ),
    );
    const got = await api.get(queue, { noAck: true });
    expect(got && got.content.toString()).to.equal('{"phase":"Ready"}');
  });

  it('the API cannot publish a status (a forged "Ready"): ACCESS_REFUSED', async function () {
    const ch = await (await connect(users.api)).createConfirmChannel();
    const closed = new Promise<string>((resolve) => ch.on('error', (e: Error) => resolve(e.message)));
    ch.on('close', () => undefined);
    ch.publish(exchange, 'video.7.status', Buffer.from('{"phase":"Ready"}'));
    const message = await closed;
    expect(message).to.match(/403 \(ACCESS-REFUSED\)|ACCESS_REFUSED/);
    expect(message).to.include(`exchange '${exchange}'`);
  });

  it('the operator cannot read the API queue: ACCESS_REFUSED', async function () {
    const ch = await (await connect(users.operator)).createChannel();
    const closed = new Promise<string>((resolve) => ch.on('error', (e: Error) => resolve(e.message)));
    ch.get(queue).catch(() => undefined);
    expect(await closed).to.match(/ACCESS.REFUSED/);
  });

  describe('progress reports (issue 25): the transcoder publishes only, the operator consumes', () => {
    /** The channel error a refused operation ends with. */
    const refusal = async (u: { user: string; pass: string }, attempt: (ch: amqp.Channel) => void) => {
      const ch = await (await connect(u)).createChannel();
      const closed = new Promise<string>((resolve) => ch.on('error', (e: Error) => resolve(e.message)));
      ch.on('close', () => undefined);
      attempt(ch);
      return closed;
    };

    it('the operator declares the exchange and its own queue; the transcoder publishes a report to it', async function () {
      const op = await (await connect(users.operator)).createChannel();
      await op.assertExchange(progress, 'topic', { durable: true });
      await op.assertQueue(progressQueue, { exclusive: true, autoDelete: true, durable: false });
      await op.bindQueue(progressQueue, progress, '#');
      const got = new Promise<string>(
        (resolve) =>
          void op.consume(progressQueue, (m) => m && resolve(m.content.toString()), { noAck: true }),
      );
      const tx = await (await connect(users.transcoder)).createChannel();
      await tx.checkExchange(progress); // passive: needs no permission
      tx.publish(progress, 'uid-1', Buffer.from('{"percent":40}'));
      expect(await got).to.equal('{"percent":40}');
    });

    it('the transcoder cannot publish a status (a forged "Ready"): ACCESS_REFUSED', async function () {
      const message = await refusal(users.transcoder, (ch) =>
        ch.publish(exchange, 'video.ready', Buffer.from('{"phase":"Ready"}')),
      );
      expect(message).to.match(/ACCESS.REFUSED/);
    });

    it('the transcoder cannot declare a queue or read one: ACCESS_REFUSED', async function () {
      expect(
        await refusal(users.transcoder, (ch) => void ch.assertQueue(`lp.steal.${id}`).catch(() => undefined)),
      ).to.match(/ACCESS.REFUSED/);
      expect(await refusal(users.transcoder, (ch) => void ch.get(queue).catch(() => undefined))).to.match(
        /ACCESS.REFUSED/,
      );
    });

    it('the operator cannot forge a progress report, nor the API read the reports: ACCESS_REFUSED', async function () {
      expect(
        await refusal(users.operator, (ch) => ch.publish(progress, 'uid-1', Buffer.from('{"percent":100}'))),
      ).to.match(/ACCESS.REFUSED/);
      expect(
        await refusal(users.api, (ch) => void ch.bindQueue(queue, progress, '#').catch(() => undefined)),
      ).to.match(/ACCESS.REFUSED/);
    });
  });
});
