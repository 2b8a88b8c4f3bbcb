/**
 * Issue 25 (metrics) on the kind platform of `make dev`: every API Pod serves Prometheus metrics on its
 * metrics port (reached here with `kubectl port-forward`, as a scrape from inside the cluster would be;
 * NetworkPolicies admit only networkPolicy.metricsFrom, checked in networkpolicy.test.ts), parsed by a
 * strict text-format parser; a sign-in through the ingress moves them; the ingress answers 404 for
 * /metrics; the operator replicas hold one Lease between them and export the new metrics.
 *
 *   npx mocha --no-config --import=tsx --require test/support/cluster-hooks.ts --timeout 600000 --exit test/e2e/metrics.test.ts
 */
import { expect } from 'chai';
import { parsePrometheus, type Metrics } from '@videoflix/testkit/prometheus';
import {
  ensurePlatform,
  kubectl,
  kubectlJson,
  NS,
  portForward,
  type Endpoints,
} from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

const API_METRICS_PORT = 9464;

/** Names of the Running Pods of one component of the platform. */
async function podsOf(component: string): Promise<string[]> {
  const pods = await kubectlJson<{ items: Array<{ metadata: { name: string }; status: { phase: string } }> }>(
    ['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/component=${component}`],
  );
  return pods.items.filter((p) => p.status.phase === 'Running').map((p) => p.metadata.name);
}

/** Scrapes every Pod of a component on `port` (port-forward per Pod): their metrics, by Pod. */
async function scrapeAll(component: string, port: number): Promise<Map<string, Metrics>> {
  const out = new Map<string, Metrics>();
  for (const pod of await podsOf(component)) {
    const fwd = await portForward(`pod/${pod}`, port);
    try {
      const res = await fetch(`http://127.0.0.1:${fwd.port}/metrics`, {
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status, `${pod} /metrics`).to.equal(200);
      out.set(pod, parsePrometheus(await res.text()));
    } finally {
      await fwd.stop();
    }
  }
  return out;
}

const total = (all: Map<string, Metrics>, name: string, labels: Record<string, string> = {}) =>
  [...all.values()].reduce((a, m) => a + m.sum(name, labels), 0);

describe('e2e: Prometheus metrics of the API and the operator', function () {
  this.timeout(600_000);
  let e: Endpoints;
  let fullname: string;

  before(async function () {
    e = await ensurePlatform();
    const op = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>([
      'get',
      'deployments',
      '-n',
      NS,
      '-l',
      'app.kubernetes.io/component=operator',
    ]);
    fullname = op.items[0]!.metadata.name.replace(/-operator$/, '');
  });

  it('each API Pod serves its metrics on the metrics port; a sign-in through the ingress moves them', async function () {
    const failures = { result: 'failure', reason: 'invalid_credentials' };
    const route = { route: '/api/login/', method: 'POST', status: '400' };
    const before = await scrapeAll('api', API_METRICS_PORT);
    expect(before.size, 'API Pods scraped').to.be.above(0);
    const res = await fetch(`${e.API_URL.replace(/\/+$/, '')}/api/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `metrics-e2e-${Date.now()}@example.test`,
        password: 'not-the-password-1',
      }),
    });
    expect(res.status).to.equal(400);
    const after = await scrapeAll('api', API_METRICS_PORT);
    expect(total(after, 'videoflix_api_sign_ins_total', failures)).to.equal(
      total(before, 'videoflix_api_sign_ins_total', failures) + 1,
    );
    expect(total(after, 'videoflix_api_http_requests_total', route)).to.equal(
      total(before, 'videoflix_api_http_requests_total', route) + 1,
    );
    for (const [pod, m] of after) {
      expect(m.type('videoflix_api_http_request_duration_seconds'), pod).to.equal('histogram');
      expect(m.type('videoflix_api_status_lag_seconds'), pod).to.equal('histogram');
      expect(m.value('videoflix_api_db_pool_max'), pod).to.be.above(0);
      expect(m.value('videoflix_api_status_consumer_connected'), `${pod} consumes status messages`).to.equal(
        1,
      );
      expect(m.value('process_resident_memory_bytes'), pod).to.be.above(0);
    }
  });

  it('the ingress and the API Service never expose /metrics', async function () {
    const res = await fetch(`${e.API_URL.replace(/\/+$/, '')}/metrics`);
    expect(res.status).to.equal(404);
    expect(await res.text()).to.not.contain('videoflix_api_');
    const svc = await kubectlJson<{ spec: { ports: Array<{ targetPort: string | number }> } }>([
      'get',
      'service',
      `${fullname}-api`,
      '-n',
      NS,
    ]);
    expect(svc.spec.ports.map((p) => p.targetPort)).to.deep.equal(['http']);
  });

  it('the metrics Services have the Pods as endpoints', async function () {
    for (const name of [`${fullname}-api-metrics`, `${fullname}-operator-metrics`]) {
      await waitFor(
        () =>
          kubectl([
            'get',
            'endpointslices',
            '-n',
            NS,
            '-l',
            `kubernetes.io/service-name=${name}`,
            '-o',
            'jsonpath={.items[*].endpoints[*].addresses[*]}',
          ]).trim() !== '',
        { timeoutMs: 60_000, what: `endpoints of ${name}` },
      );
    }
  });

  it('the operator replicas hold one Lease between them and export the encode, failure and age metrics', async function () {
    const all = await scrapeAll('operator', 8080);
    expect(all.size, 'operator Pods scraped').to.be.above(0);
    expect(total(all, 'videoflix_operator_leader'), 'replicas leading').to.equal(1);
    for (const [pod, m] of all) {
      expect(m.type('videoflix_operator_encode_duration_seconds'), pod).to.equal('histogram');
      expect(m.type('videoflix_operator_videos_failed_total'), pod).to.equal('counter');
      expect(m.value('videoflix_operator_processing_oldest_seconds'), pod).to.be.at.least(0);
      expect(m.type('videoflix_operator_workqueue_depth'), pod).to.equal('gauge');
    }
  });
});
