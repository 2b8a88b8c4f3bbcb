/**
 * helm template with the default values and with each ci/ values file; every rendered object is
 * checked for the chart's rules (non-root, read-only root file system, resources, credentials from
 * Secrets, no token where a Pod does not talk to the API server) and applied to the kind cluster with
 * `kubectl apply --dry-run=server`, so the API server validates it without creating anything.
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  CHART,
  CI_VALUES,
  helm,
  kubectl,
  offlineValues,
  parseManifests,
  podSpecOf,
  uniqueName,
  type K8sObject,
} from './helpers.js';

const CREDENTIAL_ENV = /(PASSWORD|_PASS|SECRET|_KEY|DATABASE_URL|AMQP_URL|SMTP_USER|COOKIE)$/;
/** Settings that name a Secret or a key in it, not credentials. */
const SECRET_REFERENCES = /(_KEY_KEY|_URL_KEY|_STORAGE_SECRET|_PROGRESS_SECRET)$/;

describe('chart: helm template, checked and applied with --dry-run=server', function () {
  this.timeout(300_000);
  let namespace: string;

  before(async () => {
    namespace = uniqueName('chart-dry-run');
    await kubectl(['create', 'namespace', namespace]);
  });
  after(async () => {
    if (namespace) await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  for (const file of [undefined, ...CI_VALUES]) {
    const label = file ? path.basename(file) : 'the default values';
    describe(`with ${label}`, () => {
      let text: string;
      let objects: K8sObject[];

      before(async () => {
        text = await helm(['template', 'vf', CHART, '--namespace', namespace, ...offlineValues(file)]);
        objects = parseManifests(text);
      });

      it('renders one object per template file with the app.kubernetes.io labels', () => {
        expect(objects.length).to.be.greaterThan(10);
        for (const o of objects) {
          expect(o.metadata.labels, `${o.kind}/${o.metadata.name}`).to.include.keys(
            'app.kubernetes.io/name',
            'app.kubernetes.io/instance',
            'app.kubernetes.io/managed-by',
            'helm.sh/chart',
          );
        }
      });

      it('runs every container non-root, read-only, without privilege escalation, with resources', () => {
        for (const o of objects) {
          const spec = podSpecOf(o);
          if (!spec) continue;
          expect(spec.securityContext?.runAsNonRoot, `${o.kind}/${o.metadata.name} runAsNonRoot`).to.equal(
            true,
          );
          for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
            const where = `${o.kind}/${o.metadata.name} container ${c.name}`;
            expect(c.securityContext?.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).to.equal(
              true,
            );
            expect(c.securityContext?.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).to.equal(
              false,
            );
            expect(c.securityContext?.capabilities?.drop, `${where} drops capabilities`).to.include('ALL');
            expect(c.resources?.limits, `${where} limits`).to.be.an('object');
            expect(c.image, `${where} image tag`)
              .to.match(/:[^:]+$/)
              .and.not.match(/:latest$/);
          }
        }
      });

      it('takes every credential from a Secret, never from a literal value', () => {
        for (const o of objects) {
          const spec = podSpecOf(o);
          if (!spec) continue;
          for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
            for (const e of c.env ?? []) {
              if (!CREDENTIAL_ENV.test(e.name) || SECRET_REFERENCES.test(e.name)) continue;
              const composed = typeof e.value === 'string' && /\$\((DATABASE|AMQP)_PASSWORD\)/.test(e.value);
              const fromSecret = Boolean(e.valueFrom?.secretKeyRef) || composed;
              expect(fromSecret, `${o.kind}/${o.metadata.name} ${c.name} env ${e.name}`).to.equal(true);
            }
          }
        }
      });

      it('mounts a token only into the API, the operator (namespaced Roles) and the CRD migration hook (its ClusterRole: this CRD, Videos)', () => {
        for (const o of objects) {
          const spec = podSpecOf(o);
          if (!spec) continue;
          const component = o.metadata.labels?.['app.kubernetes.io/component'];
          const mounts = spec.automountServiceAccountToken !== false;
          expect(mounts, `${o.kind}/${o.metadata.name} automountServiceAccountToken`).to.equal(
            component === 'api' || component === 'operator' || component === 'crd-migration',
          );
        }
        for (const sa of objects.filter((o) => o.kind === 'ServiceAccount')) {
          expect(sa.automountServiceAccountToken, `ServiceAccount ${sa.metadata.name}`).to.equal(false);
        }
        // the one cluster-wide grant: the storage migration hook's (a CRD is cluster-wide), a hook resource
        const cluster = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding');
        for (const o of cluster) {
          expect(o.metadata.labels?.['app.kubernetes.io/component'], o.metadata.name).to.equal(
            'crd-migration',
          );
          expect(o.metadata.annotations?.['helm.sh/hook'], o.metadata.name).to.equal('post-upgrade');
        }
        const role = cluster.find((o) => o.kind === 'ClusterRole') as
          (K8sObject & { rules?: unknown }) | undefined;
        if (role)
          expect(role.rules).to.deep.equal([
            {
              apiGroups: ['apiextensions.k8s.io'],
              resources: ['customresourcedefinitions'],
              resourceNames: ['videos.media.videoflix.io'],
              verbs: ['get'],
            },
            {
              apiGroups: ['apiextensions.k8s.io'],
              resources: ['customresourcedefinitions/status'],
              resourceNames: ['videos.media.videoflix.io'],
              verbs: ['patch'],
            },
            { apiGroups: ['media.videoflix.io'], resources: ['videos'], verbs: ['get', 'list', 'update'] },
          ]);
      });

      it('is accepted by the API server (kubectl apply --dry-run=server)', async () => {
        const out = await kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], { input: text });
        const lines = out.trim().split('\n');
        expect(lines.length).to.equal(objects.length);
        for (const l of lines) expect(l).to.match(/\(server dry run\)$/);
      });
    });
  }

  it('ships the CRD in crds/, and the API server accepts it', async () => {
    const out = await kubectl(['apply', '--dry-run=server', '-f', path.join(CHART, 'crds')]);
    expect(out).to.contain('customresourcedefinition.apiextensions.k8s.io/videos.media.videoflix.io');
  });
});
