/**
 * Issue 21, item 11: the chart's NetworkPolicies are enforced on the kind cluster (kube-router's policy
 * controller, hack/cluster/netpol.sh). From inside the cluster, Pods carrying a component's labels try
 * the connections the design forbids and the ones it needs:
 * - a transcoder Pod (the labels of the operator's Jobs) reaches DNS and the S3 server, and nothing
 *   else: PostgreSQL, RabbitMQ, the mail catcher, the API and the Kubernetes API server all fail;
 * - the same Pod with a component label no policy selects reaches the Kubernetes API server: the
 *   failures above are the policies', not the network's (the bundled services admit only their clients);
 * - the running API Pod reaches kube-dns, PostgreSQL, RabbitMQ, S3, the mail catcher and the
 *   Kubernetes API server, but not the operator's metrics port; that control Pod reaches the API's HTTP
 *   port but not its metrics port (networkPolicy.metricsFrom is empty on the dev platform).
 * The other e2e files (upload → Ready → streaming) run against the same platform, policies on.
 */
import { expect } from 'chai';
import { ensurePlatform, kubectl, kubectlJson, NS } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

/**
 * Node program: connects to each host:port of argv[1] (JSON) in rounds, 1 s apart, each attempt bounded by
 * argv[2] ms, for at least argv[3] ms and until the last three rounds agree (at most twice that long), and
 * prints the last round: {target: "ok" | error}. The policy controller (kube-router) needs a moment after a
 * Pod starts before its rules hold: in the first seconds a new Pod's connections are refused or let through
 * regardless of the policies (measured: an allowed target refused and a forbidden one reached in the first
 * 2 s), so only the settled state is the policies' verdict.
 */
const PROBE = `
const net = require('node:net');
const dns = require('node:dns');
const targets = JSON.parse(process.argv[1]);
const timeoutMs = Number(process.argv[2]);
const windowMs = Number(process.argv[3]) || 0;
const t0 = Date.now();
const attempt = (t) => new Promise((resolve) => {
  const [host, port] = t.split(':');
  dns.lookup(host, (err, address) => {
    if (err) return resolve('dns: ' + err.code);
    const s = net.connect({ host: address, port: Number(port) });
    const done = (r) => { s.destroy(); resolve(r); };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.on('connect', () => done('ok'));
    s.on('error', (e) => done(e.code || String(e)));
  });
});
(async () => {
  const rounds = [];
  for (;;) {
    rounds.push(JSON.stringify(await Promise.all(targets.map(attempt))));
    const last = rounds.slice(-3);
    const settled = last.length === 3 && last.every((r) => r === last[0]);
    const elapsed = Date.now() - t0;
    if ((settled && elapsed >= windowMs) || elapsed >= 2 * windowMs) break;
    await new Promise((f) => setTimeout(f, 1000));
  }
  const r = JSON.parse(rounds[rounds.length - 1]);
  console.log(JSON.stringify(Object.fromEntries(targets.map((t, i) => [t, r[i]]))));
})();
`;

interface Names {
  release: string;
  fullname: string;
  transcoderImage: string;
}

describe('e2e: NetworkPolicies enforced in the cluster', function () {
  this.timeout(600_000);
  let names: Names;
  const probes: string[] = [];

  before(async function () {
    await ensurePlatform();
    const op = await kubectlJson<{
      items: Array<{
        metadata: { name: string; labels: Record<string, string> };
        spec: {
          template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } };
        };
      }>;
    }>(['get', 'deployments', '-n', NS, '-l', 'app.kubernetes.io/component=operator']);
    const d = op.items[0];
    if (!d) throw new Error(`no operator Deployment in ${NS}`);
    const env = d.spec.template.spec.containers.flatMap((c) => c.env ?? []);
    names = {
      release: d.metadata.labels['app.kubernetes.io/instance']!,
      fullname: d.metadata.name.replace(/-operator$/, ''),
      transcoderImage: env.find((e) => e.name === 'TRANSCODER_IMAGE')!.value!,
    };
    const policies = kubectl(['get', 'networkpolicies', '-n', NS, '-o', 'name']);
    expect(policies, 'the chart rendered its NetworkPolicies').to.include(
      `networkpolicy.networking.k8s.io/${names.fullname}-transcoder`,
    );
    const enforcer = kubectl([
      'get',
      'daemonset',
      'kube-router',
      '-n',
      'kube-system',
      '-o',
      'jsonpath={.status.numberReady}',
    ]);
    expect(Number(enforcer), 'kube-router ready on the node').to.be.greaterThan(0);
  });

  after(function () {
    for (const p of probes) kubectl(['delete', 'pod', p, '-n', NS, '--ignore-not-found', '--wait=false']);
  });

  /** Runs PROBE in a new Pod with these labels and returns its verdicts. */
  async function probeFrom(
    labels: Record<string, string>,
    targets: string[],
    timeoutMs: number,
    windowMs = 15_000,
  ) {
    const name = `netpol-probe-${labels['app.kubernetes.io/component'] ?? 'none'}-${Date.now().toString(36)}`;
    probes.push(name);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/instance': names.release, ...labels } },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 10001,
          runAsGroup: 10001,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: 'probe',
            image: names.transcoderImage,
            imagePullPolicy: 'IfNotPresent',
            command: ['node', '-e', PROBE, JSON.stringify(targets), String(timeoutMs), String(windowMs)],
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
            resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          },
        ],
      },
    };
    kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    let phase = '';
    await waitFor(
      () => {
        phase = kubectl(['get', 'pod', name, '-n', NS, '-o', 'jsonpath={.status.phase}']);
        return phase === 'Succeeded' || phase === 'Failed';
      },
      { timeoutMs: 300_000, intervalMs: 2000, what: `probe Pod ${name} done` },
    );
    const out = kubectl(['logs', name, '-n', NS]);
    expect(phase, out).to.equal('Succeeded');
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, string>;
  }

  const svc = (component: string, port: number) => `${names.fullname}-${component}:${port}`;

  it('a transcoder Pod reaches the S3 server and the broker (progress reports) and nothing else', async function () {
    // the broker: progress.enabled (the default) gives the Jobs a user that may only publish progress
    const allowed = [svc('versitygw', 7070), svc('rabbitmq', 5672)];
    const forbidden = [
      svc('postgresql', 5432),
      svc('maildev', 1025),
      svc('api', 80),
      'kubernetes.default.svc:443',
    ];
    const r = await probeFrom(
      { 'app.kubernetes.io/component': 'transcoder' },
      [...allowed, ...forbidden],
      5000,
    );
    for (const t of allowed) expect(r[t], t).to.equal('ok');
    for (const t of forbidden)
      expect(r[t], `${t} must be refused`).to.be.oneOf(['timeout', 'ECONNREFUSED', 'EHOSTUNREACH']);
  });

  it('the same Pod without a policy of its own reaches the Kubernetes API server (control: the policies block, not the network)', async function () {
    // a target with no ingress policy of its own (every bundled service admits only its clients)
    const t = 'kubernetes.default.svc:443';
    // the API's HTTP port admits anyone (networkPolicy.apiFrom empty); its metrics port only
    // networkPolicy.metricsFrom (empty here: no one)
    const [app, metrics] = [svc('api', 80), svc('api-metrics', 9464)];
    const r = await probeFrom({ 'app.kubernetes.io/component': 'netpol-control' }, [t, app, metrics], 5000);
    expect(r[t]).to.equal('ok');
    expect(r[app], 'the API through its Service').to.equal('ok');
    expect(r[metrics], 'the API metrics port must be refused').to.be.oneOf([
      'timeout',
      'ECONNREFUSED',
      'EHOSTUNREACH',
    ]);
  });

  it('the API Pod reaches DNS, its services and the Kubernetes API server, not the operator', async function () {
    const api = kubectl([
      'get',
      'pods',
      '-n',
      NS,
      '-l',
      'app.kubernetes.io/component=api',
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ]);
    const opPod = await kubectlJson<{ items: Array<{ status: { podIP: string } }> }>([
      'get',
      'pods',
      '-n',
      NS,
      '-l',
      'app.kubernetes.io/component=operator',
    ]);
    const operatorMetrics = `${opPod.items[0]!.status.podIP}:8080`;
    const allowed = [
      svc('postgresql', 5432),
      svc('rabbitmq', 5672),
      svc('versitygw', 7070),
      svc('maildev', 1025),
      'kubernetes.default.svc:443',
    ];
    const out = kubectl(
      [
        'exec',
        '-n',
        NS,
        api,
        '--',
        'node',
        '-e',
        PROBE,
        JSON.stringify([...allowed, operatorMetrics]),
        '5000',
        '3000',
      ],
      { timeoutMs: 120_000 },
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, string>;
    for (const t of allowed) expect(r[t], `${t} (DNS through kube-dns, then TCP)`).to.equal('ok');
    expect(r[operatorMetrics], 'the operator metrics port must be refused').to.be.oneOf([
      'timeout',
      'ECONNREFUSED',
      'EHOSTUNREACH',
    ]);
  });
});
