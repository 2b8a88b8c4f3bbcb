/**
 * The bundled stateful services keep their data on PersistentVolumeClaims by default (issue 20): the
 * defaults render a volumeClaimTemplate per StatefulSet (PostgreSQL, RabbitMQ, versitygw) and no
 * emptyDir for their data; `persistence.enabled: false` renders an emptyDir instead and NOTES.txt warns
 * about it. helm template / helm install --dry-run=client only: no cluster needed.
 */
import { expect } from 'chai';
import { CHART, helm, offlineValues, parseManifests, podSpecOf, type K8sObject } from './helpers.js';

const STATEFUL = ['postgresql', 'rabbitmq', 'versitygw'] as const;

async function render(...args: string[]): Promise<K8sObject[]> {
  return parseManifests(
    await helm(['template', 'vf', CHART, '--namespace', 'persist', ...offlineValues(undefined), ...args]),
  );
}
const statefulSet = (objects: K8sObject[], component: string) => {
  const o = objects.find(
    (x) => x.kind === 'StatefulSet' && x.metadata.labels?.['app.kubernetes.io/component'] === component,
  );
  expect(o, `StatefulSet of ${component}`).to.not.equal(undefined);
  return o!;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const dataVolume = (o: K8sObject) => (podSpecOf(o).volumes as any[]).find((v) => v.name === 'data');
/** The NOTES.txt text of an install (client-side dry run: rendered, nothing sent anywhere). */
async function notes(...args: string[]): Promise<string> {
  const out = await helm([
    'install',
    'vf',
    CHART,
    '--namespace',
    'persist',
    '--dry-run=client',
    ...offlineValues(undefined),
    ...args,
  ]);
  return out.slice(out.indexOf('NOTES:'));
}

describe('chart: persistence of the bundled PostgreSQL, RabbitMQ and versitygw', function () {
  this.timeout(120_000);

  it('renders a volumeClaimTemplate "data" (ReadWriteOnce, the default class, the sized request) per service by default', async () => {
    const objects = await render();
    const sizes = { postgresql: '8Gi', rabbitmq: '2Gi', versitygw: '20Gi' };
    for (const name of STATEFUL) {
      const sts = statefulSet(objects, name);
      const claims = sts.spec.volumeClaimTemplates ?? [];
      expect(
        claims.map((c: K8sObject) => c.metadata.name),
        name,
      ).to.deep.equal(['data']);
      expect(claims[0].spec.accessModes, name).to.deep.equal(['ReadWriteOnce']);
      expect(claims[0].spec.resources.requests.storage, name).to.equal(sizes[name]);
      expect(claims[0].spec, `${name}: the cluster's default class`).to.not.have.property('storageClassName');
      expect(dataVolume(sts), `${name}: no emptyDir named data next to the claim`).to.equal(undefined);
      const mounts = podSpecOf(sts).containers[0].volumeMounts.map((m: { name: string }) => m.name);
      expect(mounts, `${name} mounts its data`).to.include('data');
    }
    // versitygw is a StatefulSet now: no Deployment, no stand-alone PVC that `helm uninstall` would delete
    expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).to.deep.equal([]);
    expect(
      objects.filter(
        (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'versitygw',
      ),
    ).to.deep.equal([]);
  });

  it('takes storageClass and size per service ("-" = storageClassName "", no dynamic provisioning)', async () => {
    const objects = await render(
      '--set',
      'postgresql.persistence.storageClass=fast,postgresql.persistence.size=3Gi',
      '--set',
      'rabbitmq.persistence.storageClass=-',
    );
    const pg = statefulSet(objects, 'postgresql').spec.volumeClaimTemplates[0].spec;
    expect(pg.storageClassName).to.equal('fast');
    expect(pg.resources.requests.storage).to.equal('3Gi');
    expect(statefulSet(objects, 'rabbitmq').spec.volumeClaimTemplates[0].spec.storageClassName).to.equal('');
    expect(statefulSet(objects, 'versitygw').spec.volumeClaimTemplates[0].spec).to.not.have.property(
      'storageClassName',
    );
  });

  it('keeps the RabbitMQ node name fixed (its data directory is named after it) and PGDATA in a subdirectory of the volume', async () => {
    const objects = await render();
    const env = (name: string) =>
      podSpecOf(statefulSet(objects, name)).containers[0].env as { name: string; value?: string }[];
    expect(env('rabbitmq').find((e) => e.name === 'RABBITMQ_NODENAME')?.value).to.equal('rabbit@localhost');
    // initdb creates the subdirectory itself (0700, owned by the non-root user) whatever the volume root's owner
    expect(env('postgresql').find((e) => e.name === 'PGDATA')?.value).to.equal(
      '/var/lib/postgresql/data/pgdata',
    );
    const pgSpec = podSpecOf(statefulSet(objects, 'postgresql'));
    expect(pgSpec.securityContext.fsGroup).to.equal(10001);
    expect(pgSpec.securityContext.runAsNonRoot).to.equal(true);
  });

  it('the defaults print no persistence warning', async () => {
    expect(await notes()).to.not.match(/persistence is off/);
  });

  it('persistence off renders an emptyDir for the data, no claim, and NOTES.txt warns naming each service', async () => {
    const args = STATEFUL.flatMap((n) => ['--set', `${n}.persistence.enabled=false`]);
    const objects = await render(...args);
    for (const name of STATEFUL) {
      const sts = statefulSet(objects, name);
      expect(sts.spec.volumeClaimTemplates, name).to.equal(undefined);
      expect(dataVolume(sts)?.emptyDir, `${name} data in an emptyDir`).to.be.an('object');
    }
    expect(dataVolume(statefulSet(objects, 'versitygw')).emptyDir.sizeLimit).to.equal('10Gi');
    const text = await notes(...args);
    expect(text).to.match(/WARNING: persistence is off for postgresql, rabbitmq, versitygw/);
    expect(text).to.match(/LOST whenever the Pod/);
    // only the ones switched off are named
    expect(await notes('--set', 'rabbitmq.persistence.enabled=false')).to.match(
      /persistence is off for rabbitmq: /,
    );
  });
});
