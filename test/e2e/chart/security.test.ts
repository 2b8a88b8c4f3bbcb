/**
 * The chart's least-privilege pieces as rendered (helm template, no cluster needed): one NetworkPolicy
 * selects every Pod the chart (or the operator's Jobs) runs, the transcoder's egress is DNS and S3 only,
 * and each component takes its own S3 identity and RabbitMQ user, with the RabbitMQ permissions of
 * common/grants (the regexes the chart writes are compared with amqpPermissions()).
 */
import { expect } from 'chai';
import path from 'node:path';
import { amqpPermissions } from '../../../common/grants/index.js';
import { CHART, helm, offlineValues, parseManifests, podSpecOf, type K8sObject } from './helpers.js';

const FULL = 'vf-videoflix';
/** An offline render of a ci/ values file (-f) or of the defaults, with the offline credentials and args. */
const renderFile = async (file: string | undefined, ...args: string[]) =>
  parseManifests(await helm(['template', 'vf', CHART, '--namespace', 'ns', ...offlineValues(file), ...args]));
const render = (...args: string[]) => renderFile(undefined, ...args);
const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The pod labels of every workload (and of the operator's transcoder Jobs, as operator/video/jobs.ts sets them). */
function podLabels(objects: K8sObject[]): Array<[string, Record<string, string>]> {
  const out: Array<[string, Record<string, string>]> = [];
  for (const o of objects) {
    if (!podSpecOf(o)) continue;
    const labels = (
      o.kind === 'Pod' ? o.metadata.labels : (o as Spec).spec.template.metadata.labels
    ) as Record<string, string>;
    out.push([`${o.kind}/${o.metadata.name}`, labels]);
  }
  out.push([
    'transcoder Job',
    { 'app.kubernetes.io/instance': 'vf', 'app.kubernetes.io/component': 'transcoder' },
  ]);
  return out;
}
const selects = (policy: K8sObject, labels: Record<string, string>) =>
  Object.entries((policy as Spec).spec.podSelector.matchLabels as Record<string, string>).every(
    ([k, v]) => labels[k] === v,
  );
const env = (o: K8sObject | undefined, name: string) =>
  (podSpecOf(o!).containers as Spec[]).flatMap((c) => (c.env ?? []) as Spec[]).find((e) => e.name === name);

describe('chart: least privilege as rendered (NetworkPolicies, credentials per component)', function () {
  this.timeout(120_000);

  it('selects every Pod by exactly one NetworkPolicy with both policy types', async function () {
    for (const file of [undefined, path.join(CHART, 'ci/external-services-values.yaml')]) {
      const objects = await renderFile(file);
      const policies = byKind(objects, 'NetworkPolicy');
      for (const p of policies)
        expect((p as Spec).spec.policyTypes, p.metadata.name).to.deep.equal(['Ingress', 'Egress']);
      for (const [what, labels] of podLabels(objects)) {
        expect(
          policies.filter((p) => selects(p, labels)).map((p) => p.metadata.name),
          `${what} (${file ?? 'defaults'})`,
        ).to.have.length(1);
      }
    }
  });

  it('lets the transcoder reach DNS, the S3 server and (progress reports) the broker only, and nothing reach it', async function () {
    const objects = await render();
    const p = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${FULL}-transcoder`,
    ) as Spec;
    expect(p.spec.ingress).to.deep.equal([]);
    expect(p.spec.egress).to.have.length(3);
    expect(p.spec.egress[2]).to.deep.equal({
      to: [
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/instance': 'vf', 'app.kubernetes.io/component': 'rabbitmq' },
          },
        },
      ],
      ports: [{ protocol: 'TCP', port: 5672 }],
    });
    const broker = objects.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${FULL}-rabbitmq`,
    ) as Spec;
    expect(JSON.stringify(broker.spec.ingress)).to.include('"app.kubernetes.io/component":"transcoder"');
    // without progress: DNS and S3 only, and the broker does not admit it
    const off = await render('--set', 'progress.enabled=false');
    const p2 = off.find(
      (o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${FULL}-transcoder`,
    ) as Spec;
    expect(p2.spec.egress).to.have.length(2);
    const b2 = off.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === `${FULL}-rabbitmq`) as Spec;
    expect(JSON.stringify(b2.spec.ingress)).not.to.include('"app.kubernetes.io/component":"transcoder"');
    expect(p.spec.egress[0].to[0].podSelector.matchLabels).to.deep.equal({ 'k8s-app': 'kube-dns' });
    expect(p.spec.egress[1]).to.deep.equal({
      to: [
        {
          podSelector: {
            matchLabels: { 'app.kubernetes.io/instance': 'vf', 'app.kubernetes.io/component': 'versitygw' },
          },
        },
      ],
      ports: [{ protocol: 'TCP', port: 7070 }],
    });
  });

  it('renders no NetworkPolicy with networkPolicy.enabled=false', async function () {
    expect(byKind(await render('--set', 'networkPolicy.enabled=false'), 'NetworkPolicy')).to.deep.equal([]);
  });

  it('gives the API, the operator and the transcoder Jobs their own S3 Secrets and RabbitMQ users', async function () {
    const objects = await render();
    const api = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULL}-api`);
    const op = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULL}-operator`);
    expect(env(api, 'S3_ACCESS_KEY')?.valueFrom.secretKeyRef.name).to.equal(`${FULL}-s3-api`);
    expect(env(op, 'S3_ACCESS_KEY')?.valueFrom.secretKeyRef.name).to.equal(`${FULL}-s3-operator`);
    expect(env(op, 'TRANSCODER_STORAGE_SECRET')?.value).to.equal(`${FULL}-s3-transcoder`);
    expect(env(api, 'AMQP_URL')?.value).to.match(/^amqp:\/\/videoflix-api:/);
    expect(env(op, 'AMQP_URL')?.value).to.match(/^amqp:\/\/videoflix-operator:/);
    const gw = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === `${FULL}-versitygw`);
    expect(podSpecOf(gw!).containers[0].args).to.include('--iam-dir');
    const names = byKind(objects, 'Secret').map((s) => s.metadata.name);
    expect(names).to.include.members(
      ['s3-api', 's3-operator', 's3-transcoder', 'amqp-api', 'amqp-operator', 'amqp-transcoder'].map(
        (n) => `${FULL}-${n}`,
      ),
    );
  });

  it("writes common/grants' RabbitMQ permissions into the bundled broker's users", async function () {
    const sts = (await render()).find(
      (o) => o.kind === 'StatefulSet' && o.metadata.name === `${FULL}-rabbitmq`,
    );
    const p = amqpPermissions(
      'videoflix.video-status',
      'videoflix.api.status',
      'videoflix.api.catalog',
      'videoflix.progress',
    );
    expect(env(sts, 'RABBITMQ_COMPONENT_USER_API')?.value).to.equal(
      `videoflix-api ${p.api.configure} ${p.api.write} ${p.api.read}`,
    );
    expect(env(sts, 'RABBITMQ_COMPONENT_USER_OPERATOR')?.value).to.equal(
      `videoflix-operator ${p.operator.configure} ${p.operator.write} ${p.operator.read}`,
    );
    expect(env(sts, 'RABBITMQ_COMPONENT_USER_TRANSCODER')?.value).to.equal(
      `videoflix-transcoder ${p.transcoder!.configure} ${p.transcoder!.write} ${p.transcoder!.read}`,
    );
  });

  it('progress: the Jobs get the publish-only user through the operator; off = no user, no URL, no write', async function () {
    const on = await render();
    const op = on.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULL}-operator`);
    expect(env(op, 'TRANSCODER_PROGRESS_SECRET')?.value).to.equal(`${FULL}-amqp-transcoder`);
    expect(env(op, 'TRANSCODER_PROGRESS_URL_KEY')?.value).to.equal('url');
    expect(env(op, 'PROGRESS_WRITE_INTERVAL')?.value).to.equal('5');
    const off = await render('--set', 'progress.enabled=false');
    const op2 = off.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULL}-operator`);
    expect(env(op2, 'TRANSCODER_PROGRESS_SECRET')).to.equal(undefined);
    expect(env(op2, 'PROGRESS_WRITE_INTERVAL')?.value).to.equal('0');
    expect(byKind(off, 'Secret').map((s) => s.metadata.name)).to.not.include(`${FULL}-amqp-transcoder`);
    const sts = off.find((o) => o.kind === 'StatefulSet' && o.metadata.name === `${FULL}-rabbitmq`);
    expect(env(sts, 'RABBITMQ_COMPONENT_USER_TRANSCODER')).to.equal(undefined);
    const p = amqpPermissions('videoflix.video-status', 'videoflix.api.status', 'videoflix.api.catalog');
    expect(env(sts, 'RABBITMQ_COMPONENT_USER_OPERATOR')?.value).to.equal(
      `videoflix-operator ${p.operator.configure} ${p.operator.write} ${p.operator.read}`,
    );
  });

  it('goes back to the shared credentials with componentCredentials.enabled=false', async function () {
    const objects = await render('--set', 'componentCredentials.enabled=false');
    const op = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULL}-operator`);
    expect(env(op, 'S3_ACCESS_KEY')?.valueFrom.secretKeyRef.name).to.equal(`${FULL}-s3`);
    expect(env(op, 'TRANSCODER_STORAGE_SECRET')?.value).to.equal(`${FULL}-s3`);
    expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).to.not.include(`${FULL}-s3-api`);
  });
});
