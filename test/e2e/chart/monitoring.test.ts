/**
 * The chart's monitoring, rendered offline (helm template; no cluster): the API's metrics port on a
 * Service of its own and never on the app's Service or ingress, scrapes admitted only from
 * networkPolicy.metricsFrom, ServiceMonitors and the PrometheusRule only when the cluster serves
 * monitoring.coreos.com/v1 (`--api-versions`) or by `force`, the Grafana dashboard ConfigMap with
 * the sidecar label, and every metric the alerts and the dashboard query exported by the code.
 *
 *   npx mocha --no-config --import=tsx --timeout 300000 test/e2e/chart/monitoring.test.ts
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createApiMetrics } from '../../../api/infra/metrics.js';
import { createMetrics } from '../../../operator/video/metrics.js';
import { CHART, helm, offlineValues, parseManifests, type K8sObject } from './helpers.js';

const MONITORING = ['--api-versions', 'monitoring.coreos.com/v1'];
const ALERTS = [
  'VideoflixVideoProcessingTooLong',
  'VideoflixVideosFailing',
  'VideoflixOperatorWithoutLeader',
  'VideoflixStatusConsumerLagging',
  'VideoflixStatusConsumerDown',
  'VideoflixApiErrors',
];

const render = async (...args: string[]) =>
  parseManifests(
    await helm(['template', 'vf', CHART, '--namespace', 'media', ...offlineValues(undefined), ...args]),
  );
const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} rendered`);
  return o;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every sample name the API and the operator export (histograms with their _bucket, _sum, _count). */
async function exportedSampleNames(): Promise<Set<string>> {
  const api = createApiMetrics({ defaultMetrics: true }).registry;
  const operator = createMetrics(
    {
      queueDepth: () => 0,
      jobsByOutcome: () => [],
      videosByPhase: () => ({}),
      isLeader: () => false,
      outboxSize: () => 0,
      oldestProcessingSeconds: () => 0,
      pastEtaSeconds: () => 0,
    },
    { defaultMetrics: true },
  ).registry;
  const names = new Set<string>();
  for (const r of [api, operator])
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    }
  return names;
}

const metricNamesIn = (expr: string) =>
  [...expr.matchAll(/\b((?:videoflix|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

describe('chart: metrics, ServiceMonitors, PrometheusRule, dashboard (helm template, offline)', function () {
  this.timeout(300_000);
  let defaults: K8sObject[];
  let monitored: K8sObject[];

  before(async () => {
    [defaults, monitored] = await Promise.all([render(), render(...MONITORING)]);
  });

  it('serves the API metrics on a port and Service of their own, never on the app Service or the ingress', () => {
    const deploy = named(defaults, 'Deployment', 'vf-videoflix-api');
    const api = deploy.spec.template.spec.containers.find((c: { name: string }) => c.name === 'api');
    expect(api.ports).to.deep.include({ name: 'metrics', containerPort: 9464, protocol: 'TCP' });
    expect(api.env).to.deep.include({ name: 'METRICS_PORT', value: '9464' });
    const svc = named(defaults, 'Service', 'vf-videoflix-api-metrics');
    expect(svc.spec.ports).to.deep.equal([
      { port: 9464, targetPort: 'metrics', protocol: 'TCP', name: 'metrics' },
    ]);
    expect(svc.metadata.labels).to.include({ 'media.videoflix.io/metrics': 'true' });
    const app = named(defaults, 'Service', 'vf-videoflix-api');
    expect(app.spec.ports.map((p: { targetPort: string }) => p.targetPort)).to.deep.equal(['http']);
    expect(app.metadata.labels).to.not.have.property('media.videoflix.io/metrics');
    for (const ing of ofKind(defaults, 'Ingress'))
      for (const rule of ing.spec.rules)
        for (const p of rule.http.paths)
          expect(p.backend.service.name, ing.metadata.name).to.not.match(/-metrics$/);
    expect(named(defaults, 'Service', 'vf-videoflix-operator-metrics').metadata.labels).to.include({
      'media.videoflix.io/metrics': 'true',
    });
  });

  it('admits scrapes of the API and the operator only from networkPolicy.metricsFrom', async () => {
    const metricsPorts = (objects: K8sObject[], name: string) =>
      (named(objects, 'NetworkPolicy', name).spec.ingress ?? []).filter(
        (r: { ports: Array<{ port: number }> }) =>
          r.ports.some((p) => p.port === (name.endsWith('api') ? 9464 : 8080)),
      );
    // nobody by default
    expect(metricsPorts(defaults, 'vf-videoflix-api')).to.deep.equal([]);
    expect(metricsPorts(defaults, 'vf-videoflix-operator')).to.deep.equal([]);
    const peer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    const open = await render('--set-json', `networkPolicy.metricsFrom=${JSON.stringify([peer])}`);
    for (const name of ['vf-videoflix-api', 'vf-videoflix-operator']) {
      const rules = metricsPorts(open, name);
      expect(rules, name).to.have.length(1);
      expect(rules[0].from).to.deep.equal([peer]);
    }
    // the API's HTTP rule is untouched: the metrics port is not in it
    const http = named(open, 'NetworkPolicy', 'vf-videoflix-api').spec.ingress[0];
    expect(http.ports).to.deep.equal([{ protocol: 'TCP', port: 8000 }]);
  });

  it('creates no ServiceMonitor or PrometheusRule when the cluster does not serve monitoring.coreos.com/v1', () => {
    expect(ofKind(defaults, 'ServiceMonitor')).to.deep.equal([]);
    expect(ofKind(defaults, 'PrometheusRule')).to.deep.equal([]);
  });

  it('creates a ServiceMonitor per metrics Service when it does, selecting that Service only', () => {
    const monitors = ofKind(monitored, 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).to.deep.equal([
      'vf-videoflix-api',
      'vf-videoflix-operator',
    ]);
    const services = ofKind(monitored, 'Service');
    for (const m of monitors) {
      const selected = services.filter((s) => matches(m.spec.selector.matchLabels, s.metadata.labels));
      expect(selected.map((s) => s.metadata.name)).to.deep.equal([`${m.metadata.name}-metrics`]);
      expect(selected[0]!.spec.ports.map((p: { name: string }) => p.name)).to.include(
        m.spec.endpoints[0].port,
      );
      expect(m.spec.endpoints[0]).to.include({ port: 'metrics', path: '/metrics', interval: '30s' });
      expect(m.spec.namespaceSelector).to.deep.equal({ matchNames: ['media'] });
    }
  });

  it('creates the alerts when it does, each scoped to the release and with a runbook in the chart README', () => {
    const [rule] = ofKind(monitored, 'PrometheusRule');
    expect(rule, 'PrometheusRule').to.not.equal(undefined);
    const alerts = rule!.spec.groups.flatMap((g: { rules: unknown[] }) => g.rules) as Array<{
      alert: string;
      expr: string;
      annotations: Record<string, string>;
      labels: Record<string, string>;
    }>;
    expect(alerts.map((a) => a.alert).sort()).to.deep.equal([...ALERTS].sort());
    const readme = readFileSync(path.join(CHART, 'README.md'), 'utf8');
    for (const a of alerts) {
      expect(a.expr, a.alert).to.match(/namespace="media",job="vf-videoflix-(api|operator)-metrics"/);
      expect(a.labels.severity, a.alert).to.be.oneOf(['warning', 'critical']);
      expect(a.annotations.runbook, a.alert).to.contain(a.alert);
      expect(readme, `a runbook section for ${a.alert}`).to.match(new RegExp(`^#### ${a.alert}$`, 'm'));
    }
    const processing = alerts.find(
      (a) => a.alert === 'VideoflixVideoProcessingTooLong',
    )! as (typeof alerts)[0] & {
      for: string;
    };
    // past the ETA by pastEtaSeconds (900), or the fixed backstop for Videos without an estimate
    expect(processing.expr).to.contain(
      'label_replace(max(videoflix_operator_processing_past_eta_seconds{namespace="media",job="vf-videoflix-operator-metrics"}) > 900, "signal", "past_eta", "", "")',
    );
    expect(processing.expr).to.contain('"past_eta", "", "") or label_replace(');
    expect(processing.expr).to.contain(
      'label_replace(max(videoflix_operator_processing_oldest_seconds{namespace="media",job="vf-videoflix-operator-metrics"}) > 7200, "signal", "oldest", "", "")',
    );
    expect(processing.for).to.equal('10m');
    expect(processing.annotations.description).to.contain('{{ if eq $labels.signal "past_eta" }}');
  });

  it('takes thresholds, labels and a runbook URL from values', async () => {
    const objects = await render(
      ...MONITORING,
      '--set',
      'metrics.prometheusRule.processingTooLongSeconds=1800',
      '--set',
      'metrics.prometheusRule.pastEtaSeconds=300',
      '--set',
      'metrics.prometheusRule.runbookBaseUrl=https://docs.example.com/videoflix',
      '--set',
      'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
      '--set',
      'metrics.prometheusRule.labels.release=kube-prometheus-stack',
    );
    const [rule] = ofKind(objects, 'PrometheusRule');
    expect(rule!.metadata.labels).to.include({ release: 'kube-prometheus-stack' });
    const first = rule!.spec.groups[0].rules[0];
    expect(first.expr).to.contain(
      'past_eta_seconds{namespace="media",job="vf-videoflix-operator-metrics"}) > 300,',
    );
    expect(first.expr).to.contain(
      'oldest_seconds{namespace="media",job="vf-videoflix-operator-metrics"}) > 1800,',
    );
    expect(first.annotations.runbook_url).to.equal(
      'https://docs.example.com/videoflix#videoflixvideoprocessingtoolong',
    );
    for (const m of ofKind(objects, 'ServiceMonitor'))
      expect(m.metadata.labels).to.include({ release: 'kube-prometheus-stack' });
  });

  it('renders them by force without the API, and not at all when switched off', async () => {
    const forced = await render(
      '--set',
      'metrics.serviceMonitor.force=true',
      '--set',
      'metrics.prometheusRule.force=true',
    );
    expect(ofKind(forced, 'ServiceMonitor')).to.have.length(2);
    expect(ofKind(forced, 'PrometheusRule')).to.have.length(1);
    const off = await render(
      ...MONITORING,
      '--set',
      'metrics.serviceMonitor.enabled=false',
      '--set',
      'metrics.prometheusRule.enabled=false',
      '--set',
      'metrics.dashboard.enabled=false',
    );
    expect(ofKind(off, 'ServiceMonitor')).to.deep.equal([]);
    expect(ofKind(off, 'PrometheusRule')).to.deep.equal([]);
    expect(off.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard'))).to.deep.equal(
      [],
    );
  });

  it('api.metricsPort=0 turns the API metrics off: no port, Service or ServiceMonitor', async () => {
    const objects = await render(...MONITORING, '--set', 'api.metricsPort=0');
    const api = named(objects, 'Deployment', 'vf-videoflix-api').spec.template.spec.containers[0];
    expect(api.ports.map((p: { name: string }) => p.name)).to.deep.equal(['http']);
    expect(api.env).to.deep.include({ name: 'METRICS_PORT', value: '0' });
    expect(objects.find((o) => o.metadata.name === 'vf-videoflix-api-metrics')).to.equal(undefined);
    expect(ofKind(objects, 'ServiceMonitor').map((m) => m.metadata.name)).to.deep.equal([
      'vf-videoflix-operator',
    ]);
  });

  it('ships the Grafana dashboard as a ConfigMap with the sidecar label', () => {
    const cm = named(defaults, 'ConfigMap', 'vf-videoflix-dashboard');
    expect(cm.metadata.labels).to.include({ grafana_dashboard: '1' });
    const dash = JSON.parse(cm.data!['videoflix.json']!) as {
      uid: string;
      templating: { list: Array<{ name: string; type: string }> };
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dash.uid).to.equal('videoflix-platform');
    expect(dash.templating.list.map((v) => v.name)).to.deep.equal(['datasource', 'namespace']);
    const text = JSON.stringify(dash);
    // the alerts' subjects each have a panel
    for (const metric of [
      'videoflix_operator_processing_oldest_seconds',
      'videoflix_operator_processing_past_eta_seconds',
      'videoflix_operator_videos_failed_total',
      'videoflix_operator_leader',
      'videoflix_operator_encode_duration_seconds_bucket',
      'videoflix_operator_workqueue_depth',
      'videoflix_api_status_lag_seconds_bucket',
      'videoflix_api_http_request_duration_seconds_bucket',
      'videoflix_api_sign_ins_total',
      'videoflix_api_rate_limit_refusals_total',
      'videoflix_api_upload_bytes_total',
      'videoflix_api_streaming_bytes_total',
      'videoflix_api_db_pool_connections',
    ])
      expect(text, metric).to.contain(metric);
    for (const p of dash.panels.filter((x) => x.type !== 'row'))
      expect(p.targets?.length, `panel ${p.title} has queries`).to.be.above(0);
  });

  it('queries only metrics the API and the operator export (alerts and dashboard)', async () => {
    const exported = await exportedSampleNames();
    const [rule] = ofKind(monitored, 'PrometheusRule');
    const exprs = [
      ...rule!.spec.groups.flatMap((g: { rules: Array<{ expr: string }> }) => g.rules.map((r) => r.expr)),
      ...(
        JSON.parse(named(defaults, 'ConfigMap', 'vf-videoflix-dashboard').data!['videoflix.json']!) as {
          panels: Array<{ targets?: Array<{ expr: string }> }>;
        }
      ).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ];
    const unknown = [...new Set(exprs.flatMap(metricNamesIn))].filter((n) => !exported.has(n));
    expect(unknown, 'metrics queried but exported by no component').to.deep.equal([]);
    expect(exprs.flatMap(metricNamesIn).length).to.be.above(30);
  });
});
