/**
 * Issue 21, item 11: the chart's NetworkPolicies are enforced on the kind cluster (kube-router's policy
 * controller, hack/cluster/netpol.sh). From inside the cluster, Pods carrying a component's labels try
 * the connections the design forbids and the ones it needs:
 * - a transcoder Pod (the labels of the operator's Jobs) reaches DNS and the S3 server, and nothing
 *   else: PostgreSQL, RabbitMQ, the mail catcher, the API and the Kubernetes API server all fail;
 * - the same Pod without a component label (no policy selects it) reaches PostgreSQL: the failures
 *   above are the policies', not the network's;
 * - the running API Pod reaches kube-dns, PostgreSQL, RabbitMQ, S3, the mail catcher and the
 *   Kubernetes API server, but not the operator's metrics port.
 * The other e2e files (upload → Ready → streaming) run against the same platform, policies on.
 */
import { expect } from 'chai';
import { ensurePlatform, kubectl, kubectlJson, NS } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

/**
 * Node program: connects to each host:port of argv[1] (JSON), each attempt bounded by argv[2] ms, and prints
 * {target: "ok" | last error}. A failed target is tried again (1 s apart) until argv[3] ms have passed: the
 * policy controller admits a new Pod a moment after it starts (kube-router refuses its first packets, as
 * withConnectRetry in common/storage says), so an allowed target must succeed within the window and a
 * forbidden one must fail for the whole of it.
 */
const PROBE = `
const net = require('node:net');
const dns = require('node:dns');
const targets = JSON.parse(process.argv[1]);
const timeoutMs = Number(process.argv[2]);
const deadline = Date.now() + Number(process.argv[3]);
const attempt = (host, port) => new Promise((resolve) => {
  dns.lookup(host, (err, address) => {
    if (err) return resolve('dns: ' + err.code);
    const s = net.connect({ host: address, port: Number(port) });
    const done = (r) => { s.destroy(); resolve(r); };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.on('connect', () => done('ok'));
    s.on('error', (e) => done(e.code || String(e)));
  });
});
const one = async (t) => {
  const [host, port] = t.split(':');
  for (;;) {
    const r = await attempt(host, port);
    if (r === 'ok' || Date.now() >= deadline) return r;
    await new Promise((f) => setTimeout(f, 1000));
  }
};
Promise.all(targets.map(one)).then((r) => {
  console.log(JSON.stringify(Object.fromEntries(targets.map((t, i) => [t, r[i]]))));
});
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
    windowMs = 30_000,
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

  it('a transcoder Pod reaches the S3 server and nothing else', async function () {
    const allowed = [svc('versitygw', 7070)];
    const forbidden = [
      svc('postgresql', 5432),
      svc('rabbitmq', 5672),
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

  it('the same Pod without a policy of its own reaches PostgreSQL (control: the policies block, not the network)', async function () {
    const t = svc('postgresql', 5432);
    const r = await probeFrom({ 'app.kubernetes.io/component': 'netpol-control' }, [t], 10_000, 60_000);
    expect(r[t]).to.equal('ok');
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
