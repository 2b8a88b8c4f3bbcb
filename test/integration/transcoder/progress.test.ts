/**
 * Issue 25 (progress): the transcoder program, as a Job runs it, encodes a rendition with real ffmpeg
 * and publishes throttled progress reports to the host tier's real RabbitMQ (the exchange declared as
 * the operator does, a queue bound to it as the operator's); with no broker reachable the same encode
 * succeeds and takes no longer.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { Client } from 'minio';
import { keys, progressMessageSchema, type ProgressMessage } from '../../../common/video/index.js';
import { createMediaDir, type MediaDir } from '../../support/media.js';
import { listKeys, s3 } from '../operator/helpers.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(REPO, 'transcoder-image/main.ts');

describe('transcoder: progress reports over RabbitMQ (real ffmpeg, real broker)', function () {
  this.timeout(300_000);
  const run8 = crypto.randomBytes(4).toString('hex');
  const sourceBucket = `txp-src-${run8}`;
  const mediaBucket = `txp-media-${run8}`;
  const exchange = `videoflix.progress.it-${run8}`;
  let client: Client;
  let media: MediaDir;
  let work: string;
  let conn: amqp.ChannelModel;
  let ch: amqp.Channel;
  let queue: string;
  const received: Array<{
    routingKey: string;
    at: number;
    body: unknown;
    type?: string;
    persistent: boolean;
  }> = [];

  before(async function () {
    client = s3();
    await client.makeBucket(sourceBucket);
    await client.makeBucket(mediaBucket);
    media = await createMediaDir('txp-it-');
    work = await fsp.mkdtemp(path.join(media.dir, 'work-'));
    const clip = await media.clip({ width: 1280, height: 720, durationSec: 12, fps: 30, audio: true });
    await client.fPutObject(sourceBucket, 'clip.mp4', clip, {});
    conn = await amqp.connect(process.env.AMQP_URL!);
    ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true }); // as the operator declares it
    queue = (await ch.assertQueue('', { exclusive: true, autoDelete: true })).queue;
    await ch.bindQueue(queue, exchange, '#');
    await ch.consume(
      queue,
      (m) => {
        if (!m) return;
        received.push({
          routingKey: m.fields.routingKey,
          at: performance.now(),
          body: JSON.parse(m.content.toString()) as unknown,
          type: m.properties.type as string | undefined,
          persistent: m.properties.deliveryMode === 2,
        });
      },
      { noAck: true },
    );
  });

  after(async () => {
    await ch?.deleteExchange(exchange).catch(() => undefined);
    await conn?.close().catch(() => undefined);
    for (const bucket of [sourceBucket, mediaBucket]) {
      // unique names: garbage at worst
      const names = await listKeys(client, bucket, '').catch(() => []);
      if (names.length) await client.removeObjects(bucket, names).catch(() => undefined);
      await client.removeBucket(bucket).catch(() => undefined);
    }
    await media?.cleanup();
  });

  async function transcode(id: string, env: Record<string, string>) {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import=tsx', MAIN, 'rendition', '480p'], {
      cwd: REPO,
      env: {
        ...process.env,
        VIDEO_ID: id,
        SOURCE_BUCKET: sourceBucket,
        SOURCE_KEY: 'clip.mp4',
        MEDIA_BUCKET: mediaBucket,
        TERMINATION_MESSAGE_PATH: path.join(work, `term-${id}`),
        WORK_DIR: work,
        FFMPEG_THREADS: '1', // slow enough on purpose: several reports per encode
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, out, seconds: (performance.now() - started) / 1000 };
  }

  let withReports: { code: number | null; out: string; seconds: number };
  const id = `txp-${run8}`;
  let reports: ProgressMessage[];

  it('publishes throttled, valid reports under the Video uid while it encodes; the rendition is complete', async function () {
    withReports = await transcode(id, {
      PROGRESS_AMQP_URL: process.env.AMQP_URL!,
      PROGRESS_EXCHANGE: exchange,
      PROGRESS_INTERVAL: '0.5',
      PROGRESS_STEP_PERCENT: '20',
    });
    expect(withReports.code, withReports.out.slice(-3000)).to.equal(0);
    await client.statObject(mediaBucket, keys.renditionMeta(id, '480p'));
    const mine = received.filter((r) => r.routingKey === id);
    expect(mine.length, withReports.out.slice(-2000)).to.be.at.least(2);
    for (const r of mine) {
      expect(r.type).to.equal('video.progress');
      expect(r.persistent, 'transient').to.equal(false);
    }
    reports = mine.map((r) => progressMessageSchema.parse(r.body));
    for (const r of reports) {
      expect(r.uid).to.equal(id);
      expect(r.rendition).to.equal('480p');
      expect(r.durationSeconds).to.be.closeTo(12, 0.5);
    }
    const percents = reports.map((r) => r.percent);
    expect(
      [...percents].sort((a, b) => a - b),
      'in order',
    ).to.deep.equal(percents);
    expect(percents.at(-1)!).to.be.above(50);
    const withSpeed = reports.filter((r) => r.speed !== undefined && r.etaSeconds !== undefined);
    expect(withSpeed.length, 'speed and ETA reported').to.be.at.least(1);
    // the pace: a report at most every 0.5 s unless the percent moved by 20 (by the transcoder's own
    // timestamps: arrival times at the consumer jitter under load)
    const times = reports.map((r) => Date.parse(r.at));
    for (let i = 1; i < reports.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      const step = reports[i]!.percent - reports[i - 1]!.percent;
      expect(gap >= 490 || step >= 20, `report ${i}: ${gap.toFixed(0)} ms, +${step}%`).to.equal(true);
    }
    // the log says how many went out
    expect(withReports.out).to.match(/"progressReports":\{"sent":\d+,"dropped":\d+\}/);
  });

  it('with no broker reachable the encode succeeds, no slower (reports dropped)', async function () {
    const alone = await transcode(`txp-nobroker-${run8}`, {
      PROGRESS_AMQP_URL: 'amqp://nobody:nothing@127.0.0.1:1',
      PROGRESS_EXCHANGE: exchange,
      PROGRESS_INTERVAL: '0.5',
    });
    expect(alone.code, alone.out.slice(-3000)).to.equal(0);
    await client.statObject(mediaBucket, keys.renditionMeta(`txp-nobroker-${run8}`, '480p'));
    expect(received.filter((r) => r.routingKey === `txp-nobroker-${run8}`)).to.have.length(0);
    // a loaded 2-core VM: generous, but a connect timeout or backoff that held the encode would show
    expect(alone.seconds).to.be.below(withReports.seconds * 1.5 + 5);
  });

  it('an exchange that does not exist: the encode succeeds all the same', async function () {
    const r = await transcode(`txp-noexchange-${run8}`, {
      PROGRESS_AMQP_URL: process.env.AMQP_URL!,
      PROGRESS_EXCHANGE: `videoflix.progress.missing-${run8}`,
      PROGRESS_INTERVAL: '0.5',
    });
    expect(r.code, r.out.slice(-3000)).to.equal(0);
  });
});
