/**
 * The dashboard renderer (hack/dashboard/render.ts, issue 25) against a real Prometheus: Debian's package,
 * obtained by hack/dashboard/prometheus.sh install (cached under ~/.cache/videoflix/tools), scraping the
 * API's and the operator's real metric registries (api/infra/metrics.ts, operator/video/metrics.ts) served
 * by common's metrics server, as the chart's metrics Services would be (job <release>-api-metrics and
 * <release>-operator-metrics). The chart's dashboard is drawn in Chromium: the panels whose metrics move
 * have data, the others (nothing failed, no upload, no Job) none, no query is rejected; a broken query is.
 *
 *   npx mocha --no-config --import=tsx --timeout 120000 --exit test/integration/monitoring/dashboard.test.ts
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Server } from 'node:http';
import { expect } from 'chai';
import { freePort } from '../../support/hostenv.js';
import { GiveUp, waitFor } from '../../support/waiters.js';
import { createMetricsServer } from '../../../common/metrics/index.js';
import { createApiMetrics } from '../../../api/infra/metrics.js';
import { createMetrics } from '../../../operator/video/metrics.js';
import {
  optionsFromEnv,
  renderDashboard,
  summarize,
  type RenderResult,
} from '../../../hack/dashboard/render.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const NS = 'dash-test';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

describe('dashboard renderer against a real Prometheus (hack/dashboard)', function () {
  this.timeout(120_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vf-dashboard-'));
  const servers: Server[] = [];
  let prometheus: ChildProcess | undefined;
  let traffic: NodeJS.Timeout | undefined;
  let promUrl = '';
  let result: RenderResult;

  before(async function () {
    const { stdout } = await promisify(execFile)(
      path.join(ROOT, 'hack/dashboard/prometheus.sh'),
      ['install'],
      {
        timeout: 110_000,
      },
    );
    const bin = stdout.trim().split('\n').pop()!;

    const api = createApiMetrics({
      defaultMetrics: true,
      sources: { pool: () => ({ used: 2, idle: 3, waiting: 0, max: 10 }), consumerConnected: () => true },
    });
    const op = createMetrics(
      {
        queueDepth: () => 1,
        jobsByOutcome: () => [{ task: '720p', outcome: 'Active', count: 2 }],
        videosByPhase: () => ({ Ready: 4, Processing: 1 }),
        isLeader: () => true,
        outboxSize: () => 0,
        oldestProcessingSeconds: () => 42,
        pastEtaSeconds: () => 0,
      },
      { defaultMetrics: true },
    );
    const tick = () => {
      const route = { route: '/api/video/:id/master.m3u8', method: 'GET', status: '200' };
      api.httpRequests.inc(route, 3);
      api.httpDuration.observe(route, 0.012);
      api.httpRequests.inc({ route: '/api/login/', method: 'POST', status: '400' });
      api.httpDuration.observe({ route: '/api/login/', method: 'POST', status: '400' }, 0.2);
      api.signIns.inc({ result: 'failure', reason: 'invalid_credentials' });
      api.streamingBytes.inc({ kind: 'segment' }, 250_000);
      api.statusMessages.inc({ outcome: 'applied' });
      api.statusLag.observe(0.08);
      op.reconciles.inc({ result: 'success' }, 2);
      op.reconcileDuration.observe({ result: 'success' }, 0.03);
      op.published.inc({ result: 'published' });
    };
    tick();
    traffic = setInterval(tick, 250);
    const apiServer = createMetricsServer(api.registry);
    const opServer = createMetricsServer(op.registry);
    servers.push(apiServer, opServer);
    const [apiPort, opPort, promPort] = [await listen(apiServer), await listen(opServer), await freePort()];

    const job = (name: string, port: number, pod: string) =>
      `  - job_name: ${name}\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]\n` +
      `        labels: {namespace: "${NS}", pod: "${pod}"}\n`;
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n' +
        job('videoflix-api-metrics', apiPort, 'videoflix-api-0') +
        job('videoflix-operator-metrics', opPort, 'videoflix-operator-0') +
        job('other-metrics', apiPort, 'not-on-the-dashboard'),
    );
    prometheus = spawn(
      bin,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'prometheus.log'), 'w')] },
    );
    promUrl = `http://127.0.0.1:${promPort}`;
    const log = () => fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8');
    await waitFor(
      async () => {
        if (prometheus!.exitCode !== null) throw new GiveUp(`prometheus exited: ${log()}`);
        return (await fetch(`${promUrl}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'prometheus /-/ready' },
    );
    // a few scrapes of each job (the first comes some 5 s after start: discovery's update throttle), so that
    // rates have samples in their window at the last steps
    const query = `min(count_over_time(up{namespace="${NS}"}[1m])) >= 6`;
    await waitFor(
      async () => {
        const res = await fetch(`${promUrl}/api/v1/query?${new URLSearchParams({ query })}`);
        return ((await res.json()) as { data: { result: unknown[] } }).data.result.length > 0;
      },
      { timeoutMs: 45_000, intervalMs: 500, what: 'six scrapes of each target' },
    );

    result = await renderDashboard({
      ...optionsFromEnv({}),
      promUrl,
      namespace: NS,
      rangeSeconds: 60,
      end: Math.floor(Date.now() / 1000),
      out: path.join(dir, 'dashboard.png'),
    });
  });

  after(async function () {
    if (traffic) clearInterval(traffic);
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    for (const s of servers) s.close();
    if (process.env.KEEP_DASHBOARD_TEST) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  });

  const panel = (title: string) => {
    const p = result.panels.find((x) => x.title === title);
    expect(p, `panel ${title}`).to.not.equal(undefined);
    return p!;
  };

  it('draws every panel, rejects no query, and takes a full-page screenshot', function () {
    const s = summarize(result);
    expect(result.panels).to.have.length(25); // 28 minus 3 rows
    expect(s.failed, s.lines.join('\n')).to.equal(false);
    const png = fs.readFileSync(result.out);
    expect(png.subarray(1, 4).toString()).to.equal('PNG');
    expect(png.readUInt32BE(16), 'width').to.be.at.least(1600);
    expect(png.readUInt32BE(20), 'height: the whole grid').to.be.above(2000);
  });

  it('the panels of the moving metrics have data, by their legends', function () {
    expect(panel('Videos by phase').series.map((s) => s.name)).to.have.members(['Ready', 'Processing']);
    expect(panel('Requests by route').series.map((s) => s.name)).to.have.members([
      '/api/video/:id/master.m3u8',
      '/api/login/',
    ]);
    expect(panel('Sign-ins by result and reason').series.map((s) => s.name)).to.deep.equal([
      'failure invalid_credentials',
    ]);
    const leaders = panel('Replicas leading').series;
    expect(leaders.map((s) => [s.name, s.value])).to.deep.equal([['leaders', 1]]);
    const oldest = panel('Oldest Processing Video, past its ETA').series;
    expect(oldest.map((s) => [s.name, s.value])).to.deep.equal([
      ['oldest', 42],
      ['past ETA', 0],
    ]);
    const rate = panel('Requests by route').series.find((s) => s.name === '/api/login/')!;
    const last = rate.values.filter((v): v is number => v !== null).pop();
    expect(last, 'POST /api/login/ rate (4/s, extrapolated over the first scrapes)').to.be.within(1, 8);
    // only the two jobs the dashboard selects: one API Pod, one operator Pod
    expect(panel('Resident memory by Pod').series.map((s) => s.name)).to.have.members([
      'videoflix-api-0',
      'videoflix-operator-0',
    ]);
    expect(panel('Database pool').series.map((s) => s.name)).to.have.members([
      'used',
      'idle',
      'waiting',
      'max',
    ]);
  });

  it('the 5xx share is 0, not empty, when no request failed (or vector(0) over no 5xx series)', function () {
    const share = panel('5xx share of answers').series;
    expect(share, 'one series').to.have.length(1);
    const values = share[0]!.values.filter((v): v is number => v !== null);
    expect(values, 'points once requests were counted').to.have.length.above(0);
    expect(Math.max(...values)).to.equal(0);
  });

  it('the panels of metrics nothing moved are reported empty', function () {
    const { empty } = summarize(result);
    // (videoflix_operator_videos_failed_total starts at 0 for every reason: a flat line, not empty)
    expect(empty).to.include.members([
      'Rate-limit refusals by limiter',
      'Upload throughput by result',
      'Encode duration by task (p50, p95, last hour)',
      'Upload duration (p50, p95, last hour)',
    ]);
    expect(empty).to.not.include('Requests by route');
  });

  it('a query Prometheus rejects is an error of its panel, and fails the summary', async function () {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(
      bad,
      JSON.stringify({
        title: 'bad',
        panels: [
          {
            type: 'timeseries',
            title: 'broken',
            gridPos: { x: 0, y: 0, w: 12, h: 8 },
            targets: [{ expr: 'sum by (route (rate(videoflix_api_http_requests_total[$__rate_interval]))' }],
          },
        ],
      }),
    );
    const r = await renderDashboard({
      ...optionsFromEnv({}),
      promUrl,
      namespace: NS,
      rangeSeconds: 60,
      dashboardPath: bad,
      end: Math.floor(Date.now() / 1000),
      out: path.join(dir, 'bad.png'),
    });
    const s = summarize(r);
    expect(s.failed).to.equal(true);
    expect(r.panels[0]!.errors.join()).to.match(/bad_data: .*parse error/);
  });
});
