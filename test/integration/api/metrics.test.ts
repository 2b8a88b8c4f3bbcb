/**
 * The API's Prometheus metrics on the host tier: real requests, sign-ins, rate limits, uploads (to
 * versitygw), HLS answers and status messages (through RabbitMQ) move them; every scrape is read by
 * a strict text-format parser (@videoflix/testkit/prometheus). main.ts serves them on METRICS_PORT
 * only: the app's port answers 404 for /metrics and the metrics port answers nothing else.
 */
import { expect } from 'chai';
import fsp from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsServer } from '../../../common/metrics/index.js';
import { keys } from '../../../common/video/index.js';
import { createApiMetrics, type ApiMetrics } from '../../../api/infra/metrics.js';
import { parsePrometheus, type Metrics } from '@videoflix/testkit/prometheus';
import { createMediaDir, type MediaDir } from '../../support/media.js';
import { waitFor } from '../../support/waiters.js';
import {
  createVideoResource,
  generateHls,
  laterVersion,
  MP4_HEAD,
  putMedia,
  rawUpload,
  startHarness,
  statusMessage,
  type GeneratedHls,
  type Harness,
} from './catalog/helpers.js';
import { smtpEnv } from './helpers/app.js';
import { freePort, startCommand, untilReady } from './helpers/process.js';
import { activeUser } from './helpers/users.js';

const ACTIVATION_BUDGET = 2;

describe('api metrics: scraped and parsed after real traffic', function () {
  this.timeout(180_000);
  let h: Harness;
  let metrics: ApiMetrics;
  let server: Server;
  let metricsUrl: string;
  let media: MediaDir;
  let hls: GeneratedHls | undefined;

  const scrape = async (): Promise<Metrics> => {
    const res = await fetch(metricsUrl);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  };

  before(async function () {
    metrics = createApiMetrics({ defaultMetrics: true });
    h = await startHarness(
      'metrics',
      {},
      { metrics, api: { RATE_LIMIT_ACTIVATION_MAX: String(ACTIVATION_BUDGET) } },
    );
    server = createMetricsServer(metrics.registry);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    media = await createMediaDir();
  });
  after(async function () {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await hls?.cleanup();
    await media?.cleanup();
    await h?.close();
  });

  it('counts requests by route template, method and status (never a raw path), and times them', async function () {
    const before = await scrape();
    const route = '/api/video/:id/master.m3u8';
    const labels = { route, method: 'GET', status: '404' };
    const countBefore = before.value('videoflix_api_http_requests_total', labels) ?? 0;
    for (const id of [987654, 987655, 987656])
      expect(
        (await h.t.agent().get(`/api/video/${id}/master.m3u8`).set('Cookie', h.userCookie)).status,
      ).to.equal(404);
    expect((await h.t.agent().get('/nowhere/4242')).status).to.equal(404);
    const after = await scrape();
    expect(after.value('videoflix_api_http_requests_total', labels)).to.equal(countBefore + 3);
    expect(after.value('videoflix_api_http_request_duration_seconds_count', labels)).to.equal(
      countBefore + 3,
    );
    expect(
      after.value('videoflix_api_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' }),
    ).to.equal(countBefore + 3);
    expect(
      after.value('videoflix_api_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }),
    ).to.be.at.least(1);
    const routes = after.samples('videoflix_api_http_requests_total').map((s) => s.labels.route!);
    expect(
      routes.filter((r) => /\d{4}/.test(r)),
      'a raw path became a label',
    ).to.deep.equal([]);
    // the harness's own traffic: activation and sign-in routes, by template
    expect(routes).to.include('/api/activate/:uidb64/:token/').and.include('/api/login/');
    expect(after.type('videoflix_api_http_request_duration_seconds')).to.equal('histogram');
  });

  it('counts sign-ins and their failures by reason, and rate-limit refusals by limiter', async function () {
    const user = await activeUser(h.t);
    const before = await scrape();
    const ok = () => before.value('videoflix_api_sign_ins_total', { result: 'success', reason: '' }) ?? 0;
    const bad = (m: Metrics) =>
      m.value('videoflix_api_sign_ins_total', { result: 'failure', reason: 'invalid_credentials' }) ?? 0;
    const invalid = (m: Metrics) =>
      m.value('videoflix_api_sign_ins_total', { result: 'failure', reason: 'validation_failed' }) ?? 0;
    const agent = h.t.agent();
    expect(
      (await agent.post('/api/login/').send({ email: user.email, password: user.password })).status,
    ).to.equal(200);
    expect(
      (await agent.post('/api/login/').send({ email: user.email, password: 'wrong-password-1' })).status,
    ).to.equal(400);
    expect(
      (await agent.post('/api/login/').send({ email: user.email, password: 'wrong-password-2' })).status,
    ).to.equal(400);
    expect((await agent.post('/api/login/').send({ email: 'not an address' })).status).to.equal(400);
    // failed activations from one address: the budget's next request is refused
    const statuses: number[] = [];
    for (let i = 0; i <= ACTIVATION_BUDGET; i++)
      statuses.push(
        (await h.t.agent().get('/api/activate/MQ/bad-token/').set('X-Forwarded-For', '203.0.113.77')).status,
      );
    expect(statuses.at(-1)).to.equal(429);
    const after = await scrape();
    expect(after.value('videoflix_api_sign_ins_total', { result: 'success', reason: '' })).to.equal(ok() + 1);
    expect(bad(after)).to.equal(bad(before) + 2);
    expect(invalid(after)).to.equal(invalid(before) + 1);
    expect(after.value('videoflix_api_rate_limit_refusals_total', { limiter: 'activation' })).to.equal(
      (before.value('videoflix_api_rate_limit_refusals_total', { limiter: 'activation' }) ?? 0) + 1,
    );
  });

  it('counts upload bytes and durations by result: accepted, refused, abandoned', async function () {
    const clip = await media.clip({ durationSec: 2, width: 320, height: 240 });
    const size = (await fsp.stat(clip)).size;
    const random = await media.randomFile(64 * 1024);
    const before = await scrape();
    const bytes = (m: Metrics, result: string) =>
      m.value('videoflix_api_upload_bytes_total', { result }) ?? 0;
    const count = (m: Metrics, result: string) =>
      m.value('videoflix_api_upload_duration_seconds_count', { result }) ?? 0;
    const up = (file: string, title: string) =>
      h.t
        .agent()
        .post('/api/admin/videos/')
        .set('Cookie', h.adminCookie)
        .field('title', title)
        .attach('file', file);
    expect((await up(clip, 'measured')).status).to.equal(202);
    expect((await up(random, 'not a video')).status).to.equal(415);
    const cut = await rawUpload(h.baseUrl, h.adminCookie, {
      fileBytes: 12 * 1024 * 1024,
      head: MP4_HEAD,
      cutAfter: 6 * 1024 * 1024,
    });
    expect(cut.status, JSON.stringify(cut)).to.equal(undefined); // the connection was dropped
    const after = await waitFor(
      async () => {
        const m = await scrape();
        return count(m, 'abandoned') > count(before, 'abandoned') ? m : undefined;
      },
      { timeoutMs: 15_000, what: 'the abandoned upload counted' },
    );
    expect(bytes(after, 'accepted') - bytes(before, 'accepted')).to.equal(size);
    expect(count(after, 'accepted') - count(before, 'accepted')).to.equal(1);
    expect(count(after, 'refused') - count(before, 'refused')).to.equal(1);
    const abandoned = bytes(after, 'abandoned') - bytes(before, 'abandoned');
    expect(abandoned)
      .to.be.above(0)
      .and.below(12 * 1024 * 1024);
    // the client went away: status 499 (never one of the API's 5xx)
    const gone = { route: '/api/admin/videos/', method: 'POST', status: '499' };
    expect(
      (after.value('videoflix_api_http_requests_total', gone) ?? 0) -
        (before.value('videoflix_api_http_requests_total', gone) ?? 0),
    ).to.equal(1);
    expect(
      after.value('videoflix_api_upload_duration_seconds_bucket', { result: 'accepted', le: '+Inf' }),
    ).to.equal(count(after, 'accepted'));
  });

  it('measures the status consumer (lag, outcomes) and counts the HLS bytes answered', async function () {
    h.catalog.consumer.start();
    hls = await generateHls([{ name: '480p', height: 480 }], 2);
    const video = await createVideoResource(h, { title: 'Streamed for metrics' });
    await putMedia(h, video.metadata.uid!, hls);
    const before = await scrape();
    await h.publish(
      statusMessage(video, {
        phase: 'Ready',
        resourceVersion: laterVersion(video.metadata.resourceVersion!),
      }),
    );
    const row = await waitFor(
      () => h.Video.findOne({ where: { uid: video.metadata.uid!, phase: 'Ready' } }),
      {
        what: 'the Ready message applied',
      },
    );
    const m1 = await waitFor(
      async () => {
        const m = await scrape();
        return (m.value('videoflix_api_status_messages_total', { outcome: 'handled' }) ?? 0) >
          (before.value('videoflix_api_status_messages_total', { outcome: 'handled' }) ?? 0)
          ? m
          : undefined;
      },
      { what: 'the handled message counted' },
    );
    const lagCount = m1.value('videoflix_api_status_lag_seconds_count')!;
    expect(lagCount).to.be.at.least(1);
    // published just now: the whole lag of these messages is seconds, not minutes
    expect(m1.value('videoflix_api_status_lag_seconds_sum')! / lagCount).to.be.below(30);
    expect(m1.value('videoflix_api_status_consumer_connected')).to.equal(1);
    expect(m1.samples('videoflix_api_status_redeliveries_total')).to.have.length(1);

    const body = async (p: string) => {
      const res = await fetch(`${h.baseUrl}${p}`, { headers: { cookie: h.userCookie } });
      expect(res.status, p).to.equal(200);
      return Buffer.from(await res.arrayBuffer()).length;
    };
    const segment = hls.files['480p'].find((f) => f.endsWith('.ts'))!;
    const playlistBytes =
      (await body(`/api/video/${row.id}/master.m3u8`)) + (await body(`/api/video/${row.id}/480p/index.m3u8`));
    const segmentBytes = await body(`/api/video/${row.id}/480p/${segment}/`);
    expect(segmentBytes).to.equal(
      (await h.s3.statObject(h.media, keys.segment(video.metadata.uid!, '480p', segment))).size,
    );
    const m2 = await scrape();
    const streamed = (m: Metrics, kind: string) =>
      m.value('videoflix_api_streaming_bytes_total', { kind }) ?? 0;
    expect(streamed(m2, 'playlist') - streamed(before, 'playlist')).to.equal(playlistBytes);
    expect(streamed(m2, 'segment') - streamed(before, 'segment')).to.equal(segmentBytes);
  });

  it('reports the database pool and the process metrics', async function () {
    const m = await scrape();
    expect(m.value('videoflix_api_db_pool_max')).to.be.at.least(1);
    const used = m.value('videoflix_api_db_pool_connections', { state: 'used' });
    const idle = m.value('videoflix_api_db_pool_connections', { state: 'idle' });
    expect(used).to.be.a('number').and.at.least(0);
    expect(idle).to.be.a('number').and.at.least(0);
    expect(m.value('videoflix_api_db_pool_waiting')).to.equal(0);
    expect(m.type('process_cpu_seconds_total')).to.equal('counter');
    expect(m.type('nodejs_eventloop_lag_seconds')).to.equal('gauge');
  });

  it('main.ts serves /metrics on METRICS_PORT only, never on the app port', async function () {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const app = startCommand('api/main.ts', [], {
      DATABASE_URL: h.db.url,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      ...smtpEnv(),
    });
    try {
      await untilReady(app, `http://127.0.0.1:${port}/readyz`);
      expect(
        (
          await fetch(`http://127.0.0.1:${port}/api/login/`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'nobody@example.test', password: 'not-the-password' }),
          })
        ).status,
      ).to.equal(400);
      const onApp = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(onApp.status).to.equal(404);
      expect(await onApp.text()).to.not.contain('videoflix_api_');
      expect((await fetch(`http://127.0.0.1:${metricsPort}/api/video/`)).status).to.equal(404);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status).to.equal(
        405,
      );
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(res.status).to.equal(200);
      const m = parsePrometheus(await res.text());
      expect(
        m.value('videoflix_api_sign_ins_total', { result: 'failure', reason: 'invalid_credentials' }),
      ).to.equal(1);
      expect(
        m.value('videoflix_api_http_requests_total', { route: '/readyz', method: 'GET', status: '200' }),
      ).to.be.at.least(1);
      expect(m.value('process_cpu_seconds_total')).to.be.above(0);
      app.child.kill('SIGTERM');
      const ran = await app.done;
      expect(ran.code, ran.stderr).to.equal(0);
      expect(ran.stdout).to.contain('metrics listening');
    } finally {
      app.child.kill('SIGKILL');
    }
  });
});
