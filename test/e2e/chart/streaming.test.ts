/**
 * The chart's streaming modes (issue 23), on offline renders (`helm template`, no cluster): `auto` offloads
 * segments to the bundled S3 server behind the chart's own Ingress, and falls back to proxy when either is
 * off; offload renders the media Ingress (same hosts, class, TLS as the API's; path /<mediaBucket>/ to the
 * versitygw Service), lets the ingress controller reach versitygw, narrows the access cookie to /api/ and
 * gives the API its allow-list of hosts.
 */
import { expect } from 'chai';
import { CHART, CI_VALUES, offlineValues, renderChart, podSpecOf, run, type K8sObject } from './helpers.js';

const render = renderChart;
function apiEnv(objects: K8sObject[]): Record<string, string | undefined> {
  const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'vf-videoflix-api')!;
  const c = (
    podSpecOf(api).containers as Array<{ name: string; env: Array<{ name: string; value?: string }> }>
  )[0]!;
  return Object.fromEntries(c.env.map((e) => [e.name, e.value]));
}
const ingresses = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Ingress');
const media = (objects: K8sObject[]) =>
  ingresses(objects).find((o) => o.metadata.name === 'vf-videoflix-media');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const gwPolicy = (objects: K8sObject[]): any =>
  objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'vf-videoflix-versitygw');

describe('chart: streaming modes (offline renders)', function () {
  this.timeout(120_000);

  it('defaults to offload (auto, Ingress and bundled versitygw on): media Ingress, cookie path, hosts, policy', async () => {
    const objects = await render(offlineValues(undefined));
    const env = apiEnv(objects);
    expect(env.STREAMING_MODE).to.equal('offload');
    expect(env.STREAMING_URL_TTL).to.equal('14400');
    expect(env.STREAMING_HOSTS).to.equal('videoflix.example.com'); // api.publicUrl's host
    expect(env.AUTH_COOKIE_ACCESS_PATH, 'the access cookie never reaches the S3 route').to.equal('/api/');
    const m = media(objects);
    expect(m, 'media Ingress').to.not.equal(undefined);
    expect(m!.spec.ingressClassName).to.equal('traefik');
    expect(m!.spec.rules).to.deep.equal([
      {
        http: {
          paths: [
            {
              path: '/videoflix-media/',
              pathType: 'Prefix',
              backend: { service: { name: 'vf-videoflix-versitygw', port: { name: 's3' } } },
            },
          ],
        },
      },
    ]);
    // versitygw: the components, and a second rule for the ingress controller (no peers given: any source)
    const ingress = gwPolicy(objects).spec.ingress as Array<{ from?: unknown[]; ports: unknown[] }>;
    expect(ingress).to.have.length(2);
    expect(ingress[0]!.from).to.have.length(4);
    expect(ingress[1]).to.deep.equal({ ports: [{ protocol: 'TCP', port: 7070 }] });
  });

  it('admits only the ingress controller peers given (mediaFrom, else apiFrom) to versitygw', async () => {
    const peer = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } } };
    const viaApiFrom = await render([
      ...offlineValues(undefined),
      '--set-json',
      `networkPolicy.apiFrom=${JSON.stringify([peer])}`,
    ]);
    expect(gwPolicy(viaApiFrom).spec.ingress[1].from).to.deep.equal([peer]);
    const own = { podSelector: { matchLabels: { app: 'edge' } } };
    const viaMediaFrom = await render([
      ...offlineValues(undefined),
      '--set-json',
      `networkPolicy.apiFrom=${JSON.stringify([peer])}`,
      '--set-json',
      `networkPolicy.mediaFrom=${JSON.stringify([own])}`,
    ]);
    expect(gwPolicy(viaMediaFrom).spec.ingress[1].from).to.deep.equal([own]);
  });

  it('uses the hosts, class, annotations and TLS of the API Ingress; STREAMING_HOSTS lists its hosts', async () => {
    const allOptions = CI_VALUES.find((f) => f.endsWith('all-options-values.yaml'))!;
    const objects = await render(offlineValues(allOptions));
    const api = ingresses(objects).find((o) => o.metadata.name === 'vf-videoflix-api')!;
    const m = media(objects)!;
    expect(m.spec.tls).to.deep.equal(api.spec.tls);
    expect(m.metadata.annotations).to.deep.equal(api.metadata.annotations);
    expect(m.spec.rules.map((r: { host?: string }) => r.host)).to.deep.equal(['videoflix.example.com']);
    expect(m.spec.rules[0].http.paths[0].path).to.equal('/ci-media/');
    expect(apiEnv(objects).STREAMING_HOSTS).to.equal('videoflix.example.com');
    const hosts = await render([
      ...offlineValues(undefined),
      '--set',
      'streaming.hosts={videos.example.com,videos.example.com:8443}',
    ]);
    expect(apiEnv(hosts).STREAMING_HOSTS).to.equal('videos.example.com,videos.example.com:8443');
  });

  it('falls back to proxy with an external S3 or without the Ingress, and renders nothing of offload then', async () => {
    const external = CI_VALUES.find((f) => f.endsWith('external-services-values.yaml'))!;
    for (const args of [
      offlineValues(external),
      [...offlineValues(undefined), '--set', 'api.ingress.enabled=false'],
      [...offlineValues(undefined), '--set', 'streaming.mode=proxy'],
    ]) {
      const objects = await render(args);
      const env = apiEnv(objects);
      expect(env.STREAMING_MODE, args.join(' ')).to.equal('proxy');
      expect(env.AUTH_COOKIE_ACCESS_PATH, 'the original cookie path').to.equal(undefined);
      expect(media(objects)).to.equal(undefined);
      const gw = gwPolicy(objects);
      if (gw) expect(gw.spec.ingress).to.have.length(1);
    }
  });

  it('runs offload with an external S3 when asked (no media Ingress: the platform routes it) and refuses bad values', async () => {
    const external = CI_VALUES.find((f) => f.endsWith('external-services-values.yaml'))!;
    const objects = await render([...offlineValues(external), '--set', 'streaming.mode=offload']);
    expect(apiEnv(objects).STREAMING_MODE).to.equal('offload');
    expect(media(objects)).to.equal(undefined);
    for (const bad of [
      'streaming.mode=cdn',
      'streaming.urlTtlSeconds=30',
      'streaming.hosts={https://x.example.com}',
    ]) {
      const r = await run('helm', ['template', 'vf', CHART, ...offlineValues(undefined), '--set', bad]);
      expect(r.code, bad).to.not.equal(0);
      expect(r.stderr, bad).to.match(/streaming/);
    }
  });
});
