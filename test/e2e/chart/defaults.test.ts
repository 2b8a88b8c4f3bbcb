/**
 * The chart's defaults are the production ones (issue 21, items 3, 4, 9 and 15), shown on offline renders
 * (`helm template`, no cluster needed): no mail catcher, and when one is turned on its inbox asks for a
 * password and stays off the ingress unless asked; Secure cookies; no development origin trusted; no
 * generated credential that changes from one render to the next (rendering fails and names the value
 * instead), and `existingSecret` for every credential the chart would generate.
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  CHART,
  GENERATED_CREDENTIALS,
  OFFLINE_SECRETS,
  REQUIRED_SETTINGS,
  offlineValues,
  podSpecOf,
  renderChart,
  run,
  type K8sObject,
} from './helpers.js';

async function render(args: string[]): Promise<{ code: number; text: string; stderr: string }> {
  const r = await run('helm', ['template', 'vf', CHART, '--namespace', 'media', ...args]);
  return { code: r.code, text: r.stdout, stderr: r.stderr };
}
const objectsOf = renderChart;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
function envOf(objects: K8sObject[], kind: string, name: string, container: string): EnvVar[] {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  expect(o, `${kind}/${name}`).to.not.equal(undefined);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const c = (podSpecOf(o!).containers as any[]).find((x: { name: string }) => x.name === container);
  expect(c, `container ${container} of ${kind}/${name}`).to.not.equal(undefined);
  return (c.env ?? []) as EnvVar[];
}
const valueOf = (env: EnvVar[], name: string) => env.find((e) => e.name === name)?.value;
/** OFFLINE_SECRETS without the one of `key`. */
function withoutSecret(key: string): string[] {
  const i = OFFLINE_SECRETS.findIndex((a) => a.startsWith(`${key}=`));
  expect(i, key).to.be.greaterThan(0);
  return [...OFFLINE_SECRETS.slice(0, i - 1), ...OFFLINE_SECRETS.slice(i + 1)];
}
const isHook = (o: K8sObject) => Boolean(o.metadata.annotations?.['helm.sh/hook']);

describe('chart: production defaults (offline renders)', function () {
  this.timeout(120_000);

  describe('the mail catcher', () => {
    it('is not installed by default, and the API then needs a real SMTP server', async () => {
      const objects = await objectsOf(offlineValues(undefined));
      const maildev = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'maildev');
      expect(maildev.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal([]);
      expect(valueOf(envOf(objects, 'Deployment', 'vf-videoflix-api', 'api'), 'SMTP_HOST')).to.equal(
        'smtp.example.com',
      );
      const noSmtp = await render([...OFFLINE_SECRETS, ...REQUIRED_SETTINGS.slice(0, 4)]);
      expect(noSmtp.code).to.not.equal(0);
      expect(noSmtp.stderr).to.contain('smtp.host is required');
    });

    it('when turned on, asks for the user and password of a Secret, and stays off the ingress', async () => {
      const objects = await objectsOf([...offlineValues(undefined), '--set', 'maildev.enabled=true']);
      const env = envOf(objects, 'Deployment', 'vf-videoflix-maildev', 'maildev');
      expect(env.find((e) => e.name === 'MAILDEV_WEB_USER')?.valueFrom?.secretKeyRef).to.deep.equal({
        name: 'vf-videoflix-maildev',
        key: 'username',
      });
      expect(env.find((e) => e.name === 'MAILDEV_WEB_PASS')?.valueFrom?.secretKeyRef).to.deep.equal({
        name: 'vf-videoflix-maildev',
        key: 'password',
      });
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'vf-videoflix-maildev');
      expect(Buffer.from(secret?.data?.password ?? '', 'base64').toString()).to.have.length.greaterThan(0);
      // the API's and (streaming offload, the default behind the chart's Ingress) the media route's
      expect(objects.filter((o) => o.kind === 'Ingress').map((o) => o.metadata.name)).to.have.members([
        'vf-videoflix-api',
        'vf-videoflix-media',
      ]);
      const withIngress = await objectsOf([
        ...offlineValues(undefined),
        '--set',
        'maildev.enabled=true',
        '--set',
        'maildev.ingress.enabled=true',
      ]);
      expect(withIngress.filter((o) => o.kind === 'Ingress').map((o) => o.metadata.name)).to.include(
        'vf-videoflix-maildev',
      );
    });

    it('takes its credentials from an existing Secret when told so', async () => {
      const objects = await objectsOf([
        ...REQUIRED_SETTINGS,
        ...withoutSecret('maildev.auth.password'),
        '--set',
        'maildev.enabled=true',
        '--set',
        'maildev.auth.existingSecret=inbox',
        '--set',
        'maildev.auth.existingSecretPasswordKey=pw',
      ]);
      expect(objects.some((o) => o.kind === 'Secret' && o.metadata.name === 'vf-videoflix-maildev')).to.equal(
        false,
      );
      const env = envOf(objects, 'Deployment', 'vf-videoflix-maildev', 'maildev');
      expect(env.find((e) => e.name === 'MAILDEV_WEB_PASS')?.valueFrom?.secretKeyRef).to.deep.equal({
        name: 'inbox',
        key: 'pw',
      });
    });
  });

  describe('the CRD storage migration hook', () => {
    it('runs after every upgrade with the operator image, its own token and ServiceAccount; off with crd.migrateStorage=false', async () => {
      const objects = await objectsOf(offlineValues(undefined));
      const mine = objects.filter(
        (o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'crd-migration',
      );
      expect(mine.map((o) => `${o.kind}/${o.metadata.name}`).sort()).to.deep.equal([
        'ClusterRole/vf-videoflix-crd-migration-media',
        'ClusterRoleBinding/vf-videoflix-crd-migration-media',
        'Job/vf-videoflix-crd-migration',
        'NetworkPolicy/vf-videoflix-crd-migration',
        'ServiceAccount/vf-videoflix-crd-migration',
      ]);
      const job = mine.find((o) => o.kind === 'Job')!;
      expect(job.metadata.annotations?.['helm.sh/hook']).to.equal('post-upgrade');
      const spec = podSpecOf(job);
      expect(spec.serviceAccountName).to.equal('vf-videoflix-crd-migration');
      expect(spec.automountServiceAccountToken).to.equal(true);
      const c = spec.containers[0] as { image: string; command: string[] };
      const operator = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'vf-videoflix-operator',
      );
      expect(c.image).to.equal((podSpecOf(operator!).containers[0] as { image: string }).image);
      expect(c.command).to.deep.equal(['node', 'dist/operator/cli/migrate-storage.js']);
      // the RBAC exists only while the hook runs: created before the Job, deleted with it
      for (const o of mine.filter((x) => x.kind !== 'Job' && x.kind !== 'NetworkPolicy'))
        expect(Number(o.metadata.annotations?.['helm.sh/hook-weight']), o.kind).to.be.lessThan(5);
      const binding = mine.find((o) => o.kind === 'ClusterRoleBinding') as K8sObject & {
        subjects: unknown;
        roleRef: { name: string };
      };
      expect(binding.subjects).to.deep.equal([
        { kind: 'ServiceAccount', name: 'vf-videoflix-crd-migration', namespace: 'media' },
      ]);
      expect(binding.roleRef.name).to.equal('vf-videoflix-crd-migration-media');
      const off = await objectsOf([...offlineValues(undefined), '--set', 'crd.migrateStorage=false']);
      expect(off.filter((o) => /crd-migration/.test(o.metadata.name))).to.deep.equal([]);
      // `helm upgrade --reuse-values` from a release before the crd block keeps that release's values:
      // no crd key at all → the hook runs with its defaults
      const reused = await objectsOf([...offlineValues(undefined), '--set', 'crd=null']);
      const hook = reused.find(
        (o) => o.kind === 'Job' && o.metadata.name === 'vf-videoflix-crd-migration',
      ) as (K8sObject & { spec: { backoffLimit: number; activeDeadlineSeconds: number } }) | undefined;
      expect(hook?.spec).to.include({ backoffLimit: 3, activeDeadlineSeconds: 600 });
    });
  });

  describe('cookies and origins', () => {
    it('sets Secure cookies, allows no insecure ones and trusts no development origin', async () => {
      const objects = await objectsOf(offlineValues(undefined));
      const env = envOf(objects, 'Deployment', 'vf-videoflix-api', 'api');
      expect(valueOf(env, 'AUTH_COOKIE_SECURE')).to.equal('true');
      expect(valueOf(env, 'AUTH_COOKIE_ALLOW_INSECURE')).to.equal('false');
      expect(valueOf(env, 'CORS_ALLOWED_ORIGINS')).to.equal('');
      expect(valueOf(env, 'CSRF_TRUSTED_ORIGINS')).to.equal('');
      const all = env.map((e) => e.value ?? '').join(' ');
      expect(all).to.not.match(/localhost|127\.0\.0\.1/);
    });

    it('refuses to render without the public URLs, naming them', async () => {
      for (const [key, i] of [
        ['api.publicUrl', 0],
        ['api.frontendUrl', 2],
      ] as const) {
        const args = [
          ...REQUIRED_SETTINGS.slice(0, i),
          ...REQUIRED_SETTINGS.slice(i + 2),
          ...OFFLINE_SECRETS,
        ];
        const r = await render(args);
        expect(r.code, key).to.not.equal(0);
        expect(r.stderr).to.contain(`${key} is required`);
      }
    });
  });

  describe('generated credentials (GitOps: helm template)', () => {
    const generated = GENERATED_CREDENTIALS.map(([k]) => k);

    it('refuses to render without a cluster when a generated credential has no value, naming it', async () => {
      for (const key of generated) {
        const args = [...REQUIRED_SETTINGS, '--set', 'maildev.enabled=true', ...withoutSecret(key)];
        const r = await render(args);
        expect(r.code, `render without ${key}`).to.not.equal(0);
        expect(r.stderr, key)
          .to.contain(`${key} (or `)
          .and.contain('a new value would be generated on every render');
      }
    });

    it('renders the same manifests twice with the values given (nothing random outside the test hook)', async () => {
      const args = [...offlineValues(undefined), '--set', 'maildev.enabled=true'];
      const [a, b] = await Promise.all([objectsOf(args), objectsOf(args)]);
      expect(a.filter((o) => !isHook(o))).to.deep.equal(b.filter((o) => !isHook(o)));
    });

    it('renders with every credential in existing Secrets, generating none', async () => {
      const objects = await objectsOf([
        ...REQUIRED_SETTINGS,
        '--set',
        'maildev.enabled=true',
        ...[
          'jwt.existingSecret=my-jwt',
          's3.existingSecret=my-s3',
          'postgresql.auth.existingSecret=my-db',
          'rabbitmq.auth.existingSecret=my-mq',
          'maildev.auth.existingSecret=my-inbox',
          'smtp.existingSecret=my-smtp',
          'componentCredentials.s3.api.existingSecret=my-s3-api',
          'componentCredentials.s3.operator.existingSecret=my-s3-operator',
          'componentCredentials.s3.transcoder.existingSecret=my-s3-transcoder',
          'componentCredentials.rabbitmq.api.existingSecret=my-mq-api',
          'componentCredentials.rabbitmq.operator.existingSecret=my-mq-operator',
          'componentCredentials.rabbitmq.transcoder.existingSecret=my-mq-transcoder',
        ].flatMap((s) => ['--set', s]),
      ]);
      const secrets = objects.filter((o) => o.kind === 'Secret' && !isHook(o)).map((o) => o.metadata.name);
      expect(secrets).to.deep.equal([]);
      const refs = new Set(
        objects
          .flatMap((o) => {
            const spec = podSpecOf(o);
            return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
          })
          .flatMap((c: { env?: EnvVar[] }) => c.env ?? [])
          .map((e: EnvVar) => e.valueFrom?.secretKeyRef?.name)
          .filter((n): n is string => Boolean(n)),
      );
      expect([...refs].sort()).to.include.members([
        'my-db',
        'my-inbox',
        'my-jwt',
        'my-mq',
        'my-mq-api',
        'my-mq-operator',
        'my-mq-transcoder',
        'my-s3',
        'my-s3-api',
        'my-s3-operator',
      ]);
      expect([...refs].filter((n) => n.startsWith('vf-videoflix-'))).to.deep.equal([]);
    });
  });

  it('migrates in the API Pods before they start with the bundled database (helm install --wait cannot deadlock on /readyz)', async () => {
    const initOf = (objects: K8sObject[]) =>
      podSpecOf(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'vf-videoflix-api')!)
        .initContainers as { name: string; command: string[] }[] | undefined;
    const bundled = initOf(await objectsOf(offlineValues(undefined)));
    expect(bundled?.map((c) => c.command.join(' '))).to.deep.equal(['node dist/api/migrate.js up']);
    // an external database is migrated by the pre-install hook, before any API Pod
    const external = initOf(
      await objectsOf(offlineValues(path.join(CHART, 'ci/external-services-values.yaml'))),
    );
    expect(external ?? []).to.deep.equal([]);
  });

  it("renders the operator's Role as exactly operator/rbac/rules.yaml, its Lease by name", async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const source = parse(readFileSync(path.join(CHART, '../../operator/rbac/rules.yaml'), 'utf8')) as Record<
      string,
      { resourceNames?: string[] }[]
    >;
    const want = [...source.workload!, ...source['leader-election']!].map((r) =>
      r.resourceNames ? { ...r, resourceNames: ['vf-videoflix-operator'] } : r,
    );
    const objects = await objectsOf(offlineValues(undefined));
    const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'vf-videoflix-operator');
    expect(roles).to.have.length(1);
    expect(roles[0]!.rules).to.deep.equal(want);
    const lease = valueOf(envOf(objects, 'Deployment', 'vf-videoflix-operator', 'operator'), 'LEASE_NAME');
    expect(lease).to.equal('vf-videoflix-operator');
    const leaseRules = want.filter((r) => (r as { resources: string[] }).resources.includes('leases'));
    expect(
      leaseRules.filter((r) => !r.resourceNames).map((r) => (r as { verbs: string[] }).verbs),
    ).to.deep.equal([['create']]);
  });

  it('binds a Video source policy naming s3.sourceBucket to the release namespace', async () => {
    const objects = await objectsOf([...offlineValues(undefined), '--set', 's3.sourceBucket=uploads-x']);
    const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy');
    const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding');
    expect(policy?.spec.validations[0].expression).to.equal('object.spec.source.bucket == "uploads-x"');
    expect(binding?.spec.policyName).to.equal(policy?.metadata.name);
    expect(binding?.spec.validationActions).to.deep.equal(['Deny']);
    expect(binding?.spec.matchResources.namespaceSelector.matchLabels).to.deep.equal({
      'kubernetes.io/metadata.name': 'media',
    });
    const off = await objectsOf([...offlineValues(undefined), '--set', 'videoAdmissionPolicy.enabled=false']);
    expect(off.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy'))).to.deep.equal([]);
  });

  it('gives helm test a fresh random address per run (never a fixed, guessable one)', async () => {
    const address = async () => {
      const objects = await objectsOf(offlineValues(undefined));
      const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'vf-videoflix-test');
      return Buffer.from(secret?.data?.ADMIN_EMAIL ?? '', 'base64').toString();
    };
    const [a, b] = await Promise.all([address(), address()]);
    expect(a).to.match(/^helm-test-[a-z0-9]{16}@videoflix\.invalid$/);
    expect(a).to.not.equal(b);
    const pod = (await objectsOf(offlineValues(undefined))).find((o) => o.kind === 'Pod');
    const script = (podSpecOf(pod!).containers[0].command as string[]).join(' ');
    expect(script).to.contain("'--delete'").and.not.contain("'--update'");
  });

  it('is documented: the chart README explains existingSecret and the offline renders', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(path.join(CHART, 'README.md'), 'utf8');
    expect(readme).to.contain('Generated secrets');
    expect(readme).to.contain('existingSecret');
    const section = readme.slice(readme.indexOf('### Generated secrets'));
    const listed = section.slice(0, section.indexOf('\n### ', 4));
    for (const [key] of GENERATED_CREDENTIALS) expect(listed, `README lists ${key}`).to.contain(`\`${key}\``);
  });
});
