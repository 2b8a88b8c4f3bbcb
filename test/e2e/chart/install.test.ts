/**
 * The chart installed for real on the kind cluster with its bundled PostgreSQL, RabbitMQ, versitygw and
 * maildev, behind the ingress controller (hack/cluster/ingress.sh): every Pod Ready, the API reached
 * through the ingress on 127.0.0.1, RBAC proven with `kubectl auth can-i --as` (allowed and denied),
 * one operator replica leading, `helm test` passing, and `helm uninstall` leaving nothing behind.
 * Images: hack/cluster/images.sh builds and loads them (IMAGE_TAG, default "dev", for the project's
 * own api/operator/transcoder images; the bundled services' tags are the chart's defaults).
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'node:http';
import { parse } from 'yaml';
import { CHART, ROOT, helm, kubectl, ok, run, uniqueName, waitUntil } from './helpers.js';

const RELEASE = 'vf';
const FULLNAME = `${RELEASE}-videoflix`;
const IMAGE_TAG = process.env.IMAGE_TAG ?? 'dev';
const INGRESS_URL = `http://127.0.0.1:${process.env.INGRESS_HTTP_PORT ?? '8080'}`;

/** An HTTP request to the ingress on 127.0.0.1 with a Host header of our choice (fetch cannot set Host). */
async function fetchVia(
  urlPath: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | FormData } = {},
): Promise<{ status: number; body: string; cookies: string[] }> {
  let body: Buffer | undefined;
  const headers: Record<string, string> = { ...init.headers };
  if (init.body instanceof FormData) {
    const encoded = new Response(init.body);
    headers['content-type'] = encoded.headers.get('content-type') ?? '';
    body = Buffer.from(await encoded.arrayBuffer());
  } else if (init.body !== undefined) {
    body = Buffer.from(init.body);
  }
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = request(`${INGRESS_URL}${urlPath}`, { method: init.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0] ?? ''),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('chart: helm install with the bundled services, on the kind cluster', function () {
  this.timeout(900_000);
  let ns: string;
  let host: string;
  let installed = false;
  /** Set by the upload test: the admin's cookies and the generated sample. */
  let adminCookie = '';
  let samplePath = '';

  const canI = async (sa: string, verb: string, resource: string, extra: string[] = []) => {
    const r = await run('kubectl', [
      'auth',
      'can-i',
      verb,
      resource,
      '--as',
      `system:serviceaccount:${ns}:${sa}`,
      '-n',
      ns,
      ...extra,
    ]);
    return r.stdout.trim() === 'yes';
  };
  const expectCan = async (sa: string, rules: [string, string, string[]?][], allowed: boolean) => {
    const wrong: string[] = [];
    for (const [verb, resource, extra] of rules) {
      if ((await canI(sa, verb, resource, extra)) !== allowed)
        wrong.push(`${verb} ${resource} ${(extra ?? []).join(' ')}`.trim());
    }
    expect(wrong, `${sa} should ${allowed ? '' : 'NOT '}be allowed to`).to.deep.equal([]);
  };
  const curl = (urlPath: string) =>
    run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      `Host: ${host}`,
      `${INGRESS_URL}${urlPath}`,
    ]);

  before(async function () {
    ns = uniqueName('vf-chart');
    host = `${ns}.videoflix.test`;
    // the ingress controller (idempotent: kubectl apply + rollout status)
    const ingress = await run(path.join(ROOT, 'hack/cluster/ingress.sh'), ['up']);
    if (ingress.code !== 0)
      throw new Error(`hack/cluster/ingress.sh up failed:\n${ingress.stderr}${ingress.stdout}`);
    // the chart's CRD first, as the README's upgrade does (Helm skips crds/ when the CRD exists, and an
    // older one left on the cluster would make the upgrade's storage migration hook refuse)
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(CHART, 'crds')]);
    const t0 = Date.now();
    await helm(
      [
        'install',
        RELEASE,
        CHART,
        '-f',
        path.join(CHART, 'ci/kind-values.yaml'),
        '--namespace',
        ns,
        '--create-namespace',
        '--wait',
        '--timeout',
        '12m',
        '--set',
        `api.image.tag=${IMAGE_TAG}`,
        '--set',
        `operator.image.tag=${IMAGE_TAG}`,
        '--set',
        `transcoder.image.tag=${IMAGE_TAG}`,
        // a host of its own, so other releases in the cluster never share its ingress rules
        '--set',
        `api.ingress.hosts[0].host=${host}`,
        '--set',
        'api.ingress.hosts[0].paths[0].path=/',
        '--set',
        'api.ingress.hosts[0].paths[0].pathType=Prefix',
        // the mail catcher is off by default (production sends through smtp.host): on here, its ingress
        // left at its default (off)
        '--set',
        'maildev.enabled=true',
        '--set',
        `maildev.ingress.host=${host}`,
        '--set',
        `api.publicUrl=http://${host}`,
        '--set',
        `api.frontendUrl=http://${host}`,
        '--set',
        'api.bcryptCost=10',
      ],
      { timeoutMs: 13 * 60_000 },
    );
    installed = true;
    console.log(`      helm install --wait took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

  after(async () => {
    if (!ns) return;
    if (installed) {
      await run('kubectl', ['delete', 'videos', '--all', '-n', ns, '--wait=true', '--timeout=120s']);
      await run('helm', ['uninstall', RELEASE, '-n', ns, '--wait', '--timeout', '3m']);
    }
    await run('kubectl', ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
  });

  it('has every Pod of the release Ready', async () => {
    const out = await kubectl([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'json',
    ]);
    const pods = JSON.parse(out).items as {
      metadata: { name: string };
      status: { phase: string; conditions?: { type: string; status: string }[] };
    }[];
    const components = new Set(pods.map((p) => p.metadata.name.replace(`${FULLNAME}-`, '').split('-')[0]));
    expect([...components]).to.include.members([
      'api',
      'operator',
      'postgresql',
      'rabbitmq',
      'versitygw',
      'maildev',
    ]);
    const notReady = pods.filter(
      (p) => !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    expect(notReady.map((p) => `${p.metadata.name} ${p.status.phase}`)).to.deep.equal([]);
  });

  it("runs the API and the operator as the chart's ServiceAccounts, two operator replicas", async () => {
    const sa = async (component: string) =>
      (
        await kubectl([
          'get',
          'pods',
          '-n',
          ns,
          '-l',
          `app.kubernetes.io/component=${component}`,
          '-o',
          'jsonpath={.items[*].spec.serviceAccountName}',
        ])
      )
        .split(' ')
        .filter(Boolean);
    expect(new Set(await sa('api'))).to.deep.equal(new Set([`${FULLNAME}-api`]));
    const operators = await sa('operator');
    expect(operators).to.have.length(2);
    expect(new Set(operators)).to.deep.equal(new Set([`${FULLNAME}-operator`]));
  });

  it('has exactly one operator replica holding the Lease', async () => {
    const pods = (
      await kubectl([
        'get',
        'pods',
        '-n',
        ns,
        '-l',
        'app.kubernetes.io/component=operator',
        '-o',
        'jsonpath={.items[*].metadata.name}',
      ])
    ).split(' ');
    const holder = await waitUntil(
      async () =>
        (
          await kubectl([
            'get',
            'lease',
            `${FULLNAME}-operator`,
            '-n',
            ns,
            '-o',
            'jsonpath={.spec.holderIdentity}',
          ])
        ).trim(),
      'the operator Lease to have a holder',
      60_000,
    );
    expect(pods).to.include(holder);
  });

  describe("RBAC, proven with kubectl auth can-i --as the chart's ServiceAccounts", () => {
    const VIDEOS = 'videos.media.videoflix.io';
    const LEASES = 'leases.coordination.k8s.io';
    it('gives the operator a Role of exactly operator/rbac/rules.yaml, its Lease by name', async () => {
      const source = parse(readFileSync(path.join(ROOT, 'operator/rbac/rules.yaml'), 'utf8')) as Record<
        string,
        { resourceNames?: string[] }[]
      >;
      const want = [...source.workload!, ...source['leader-election']!].map((r) =>
        r.resourceNames ? { ...r, resourceNames: [`${FULLNAME}-operator`] } : r,
      );
      const role = JSON.parse(
        await kubectl(['get', 'role', `${FULLNAME}-operator`, '-n', ns, '-o', 'json']),
      ) as { rules: unknown[] };
      expect(role.rules).to.deep.equal(want);
      const bindings = JSON.parse(
        await kubectl(['get', 'rolebindings,clusterrolebindings', '-A', '-o', 'json']),
      ) as {
        items: {
          metadata: { name: string };
          subjects?: { kind: string; name: string; namespace?: string }[];
        }[];
      };
      const bound = bindings.items
        .filter((b) =>
          b.subjects?.some((x) => x.kind === 'ServiceAccount' && x.name === `${FULLNAME}-operator`),
        )
        .map((b) => b.metadata.name);
      expect(bound).to.deep.equal([`${FULLNAME}-operator`]);
    });
    it('lets the operator do what it needs', () =>
      expectCan(
        `${FULLNAME}-operator`,
        [
          ['get', VIDEOS],
          ['list', VIDEOS],
          ['watch', VIDEOS],
          ['patch', VIDEOS],
          ['get', VIDEOS, ['--subresource=status']],
          ['patch', VIDEOS, ['--subresource=status']],
          ['update', VIDEOS, ['--subresource=finalizers']],
          ['create', 'jobs.batch'],
          ['get', 'jobs.batch'],
          ['list', 'jobs.batch'],
          ['watch', 'jobs.batch'],
          ['delete', 'jobs.batch'],
          ['list', 'pods'],
          ['watch', 'pods'],
          ['create', 'events'],
          ['patch', 'events'],
          ['create', LEASES],
          ['get', `${LEASES}/${FULLNAME}-operator`],
          ['update', `${LEASES}/${FULLNAME}-operator`],
        ],
        true,
      ));
    it('denies the operator everything else (other Leases, updates it does not use, Secrets, Pods)', () =>
      expectCan(
        `${FULLNAME}-operator`,
        [
          ['create', VIDEOS],
          ['update', VIDEOS],
          ['delete', VIDEOS],
          ['deletecollection', VIDEOS],
          ['update', VIDEOS, ['--subresource=status']],
          ['update', 'jobs.batch'],
          ['patch', 'jobs.batch'],
          ['deletecollection', 'jobs.batch'],
          ['get', 'pods'],
          ['create', 'pods'],
          ['delete', 'pods'],
          ['get', 'pods', ['--subresource=log']],
          ['create', 'pods', ['--subresource=exec']],
          ['get', 'secrets'],
          ['list', 'secrets'],
          ['get', 'configmaps'],
          ['list', 'events'],
          ['get', `${LEASES}/another-lease`],
          ['update', `${LEASES}/another-lease`],
          ['list', LEASES],
          ['watch', LEASES],
          ['patch', `${LEASES}/${FULLNAME}-operator`],
          ['delete', `${LEASES}/${FULLNAME}-operator`],
          ['list', VIDEOS, ['-n', 'default']],
          ['create', 'jobs.batch', ['-n', 'default']],
          ['create', LEASES, ['-n', 'default']],
          ['list', 'nodes'],
          ['list', 'namespaces'],
          ['create', 'clusterrolebindings'],
          ['create', 'roles'],
          ['list', 'customresourcedefinitions'],
        ],
        false,
      ));
    it("lets the API create, read, list, watch, delete and patch (the admin's retry annotation) Videos only", async () => {
      await expectCan(
        `${FULLNAME}-api`,
        [
          ['create', VIDEOS],
          ['get', VIDEOS],
          ['list', VIDEOS],
          ['watch', VIDEOS],
          ['delete', VIDEOS],
          ['patch', VIDEOS],
        ],
        true,
      );
      await expectCan(
        `${FULLNAME}-api`,
        [
          ['update', VIDEOS],
          ['update', VIDEOS, ['--subresource=status']],
          ['patch', VIDEOS, ['--subresource=status']],
          ['deletecollection', VIDEOS],
          ['create', 'jobs.batch'],
          ['list', 'pods'],
          ['get', 'secrets'],
          ['list', VIDEOS, ['-n', 'default']],
        ],
        false,
      );
    });
    it("gives the transcoder's ServiceAccount nothing, and no token in its Pods", async () => {
      await expectCan(
        `${FULLNAME}-transcoder`,
        [
          ['get', VIDEOS],
          ['list', 'pods'],
          ['get', 'secrets'],
          ['create', 'events'],
        ],
        false,
      );
      const automount = await kubectl([
        'get',
        'serviceaccount',
        `${FULLNAME}-transcoder`,
        '-n',
        ns,
        '-o',
        'jsonpath={.automountServiceAccountToken}',
      ]);
      expect(automount).to.equal('false');
    });
  });

  it('answers through the ingress on 127.0.0.1 (healthz, readyz, a 401 without a cookie)', async () => {
    expect((await curl('/healthz')).stdout).to.equal('200');
    expect((await curl('/readyz')).stdout).to.equal('200');
    expect((await curl('/api/video/')).stdout).to.equal('401');
  });

  it("keeps the mail catcher's inbox off the ingress, and asks for its Secret's password inside the cluster", async () => {
    // through the ingress the path is the API's (no maildev route without maildev.ingress.enabled)
    expect((await curl('/maildev/api/email')).stdout).to.equal('404');
    // inside its own Pod (node is there; no NetworkPolicy in the way): 401 without credentials, 200 with the Secret's
    const secret = JSON.parse(
      await kubectl(['get', 'secret', `${FULLNAME}-maildev`, '-n', ns, '-o', 'json']),
    ) as { data: Record<string, string> };
    const user = Buffer.from(secret.data.username!, 'base64').toString();
    const password = Buffer.from(secret.data.password!, 'base64').toString();
    expect(password).to.have.length.greaterThan(16);
    const probe = async (auth: string) =>
      (
        await kubectl([
          'exec',
          '-n',
          ns,
          `deploy/${FULLNAME}-maildev`,
          '--',
          'node',
          '-e',
          `fetch('http://127.0.0.1:1080/api/email', { headers: ${JSON.stringify(auth ? { authorization: auth } : {})} }).then((r) => console.log(r.status))`,
        ])
      ).trim();
    expect(await probe('')).to.equal('401');
    expect(await probe(`Basic ${Buffer.from(`${user}:wrong`).toString('base64')}`)).to.equal('401');
    expect(await probe(`Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`)).to.equal('200');
  });

  it("turns an upload through the ingress into a Ready Video, with the chart's ServiceAccounts and Secrets", async () => {
    // a staff account (the API's own command, in the API Pod), then the admin upload as the frontend does it
    const email = 'chart-e2e@videoflix.test';
    const password = `Chart-e2e-${Math.random().toString(36).slice(2, 10)}`;
    await kubectl([
      'exec',
      '-n',
      ns,
      `deploy/${FULLNAME}-api`,
      '--',
      'env',
      `ADMIN_EMAIL=${email}`,
      `ADMIN_PASSWORD=${password}`,
      'node',
      'dist/api/cli/create-admin.js',
      '--update',
    ]);
    const sample = path.join(os.tmpdir(), `${ns}.mp4`);
    await ok('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=854x480:rate=25',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      '6',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '96k',
      sample,
    ]);
    const origin = { Host: host, Origin: `http://${host}` };
    const login = await fetchVia('/api/login/', {
      method: 'POST',
      headers: { ...origin, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status, login.body).to.equal(200);
    const cookie = login.cookies.join('; ');
    adminCookie = cookie;
    samplePath = sample;
    const form = new FormData();
    form.set('title', 'Chart e2e');
    form.set('description', 'uploaded through the ingress');
    form.set('category', 'test');
    form.set('file', new Blob([readFileSync(sample)], { type: 'video/mp4' }), 'sample.mp4');
    const upload = await fetchVia('/api/admin/videos/', {
      method: 'POST',
      headers: { ...origin, cookie },
      body: form,
    });
    expect(upload.status, upload.body).to.equal(202);
    const id = (JSON.parse(upload.body) as { id: number }).id;
    // the operator (its Role) runs the Jobs (the transcoder's ServiceAccount and the S3 Secret) to Ready
    await kubectl(['wait', '--for=condition=Ready', 'videos', '--all', '-n', ns, '--timeout=420s'], {
      timeoutMs: 430_000,
    });
    const listed = await waitUntil(
      async () => {
        const r = await fetchVia('/api/video/', { headers: { Host: host, cookie } });
        const items = JSON.parse(r.body) as { id: number }[];
        return items.some((v) => v.id === id) ? items : false;
      },
      'the Video in the catalog',
      60_000,
    );
    expect(listed.map((v) => v.id)).to.include(id);
    const master = await fetchVia(`/api/video/${id}/master.m3u8`, { headers: { Host: host, cookie } });
    expect(master.status).to.equal(200);
    expect(master.body).to.contain('#EXT-X-STREAM-INF');
  });

  it('passes helm test (sign in and list the catalog through the Service)', async () => {
    const r = await run('helm', ['test', RELEASE, '-n', ns, '--timeout', '5m']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Phase:\s+Succeeded/);
  });

  // nested suites run after the tests above: RBAC first, then these
  describe('then upgraded and uninstalled', () => {
    it('upgrades to a changed configuration while a Video processes: generated credentials kept, Pods Ready, the Video Ready', async () => {
      const secretData = async () =>
        (
          await kubectl([
            'get',
            'secrets',
            '-n',
            ns,
            '-l',
            `app.kubernetes.io/instance=${RELEASE}`,
            '-o',
            'jsonpath={range .items[*]}{.metadata.name}={.data}{"\\n"}{end}',
          ])
        )
          .split('\n')
          .filter(Boolean)
          .sort();
      const before = await secretData();
      expect(before.length).to.be.greaterThan(3);
      // a Video still processing while the upgrade rolls the API and the operator
      expect(adminCookie, 'the upload test ran first').to.not.equal('');
      const form = new FormData();
      form.set('title', 'Uploaded before the upgrade');
      form.set('description', 'processed across the upgrade');
      form.set('category', 'test');
      form.set('file', new Blob([readFileSync(samplePath)], { type: 'video/mp4' }), 'sample.mp4');
      const upload = await fetchVia('/api/admin/videos/', {
        method: 'POST',
        headers: { Host: host, Origin: `http://${host}`, cookie: adminCookie },
        body: form,
      });
      expect(upload.status, upload.body).to.equal(202);
      const phases = (
        await kubectl(['get', 'videos', '-n', ns, '-o', 'jsonpath={.items[*].status.phase}'])
      ).split(' ');
      console.log(`      Video phases when the upgrade starts: ${phases.join(', ')}`);
      await helm(
        [
          'upgrade',
          RELEASE,
          CHART,
          '-n',
          ns,
          '--reuse-values',
          '--set',
          'operator.workers=3',
          '--set',
          'logLevel=debug',
          '--wait',
          '--timeout',
          '8m',
        ],
        {
          timeoutMs: 9 * 60_000,
        },
      );
      expect(await secretData(), 'generated Secrets after the upgrade').to.deep.equal(before);
      // the post-upgrade hook migrated the stored Videos and left only the storage version
      expect(
        await kubectl(['get', 'crd', 'videos.media.videoflix.io', '-o', 'jsonpath={.status.storedVersions}']),
      ).to.equal('["v1beta1"]');
      const env = await kubectl([
        'get',
        'deployment',
        `${FULLNAME}-operator`,
        '-n',
        ns,
        '-o',
        'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="WORKERS")].value}',
      ]);
      expect(env).to.equal('3');
      await kubectl(['rollout', 'status', `deployment/${FULLNAME}-operator`, '-n', ns, '--timeout=5m']);
      await kubectl(['rollout', 'status', `deployment/${FULLNAME}-api`, '-n', ns, '--timeout=5m']);
      expect((await curl('/readyz')).stdout).to.equal('200');
      // the Video uploaded before the upgrade ends Ready too
      await kubectl(['wait', '--for=condition=Ready', 'videos', '--all', '-n', ns, '--timeout=420s'], {
        timeoutMs: 430_000,
      });
    });

    it('leaves no Pods, Jobs or Services behind after helm uninstall', async () => {
      // as the README says: Videos first, while the operator runs (it removes their media and Jobs)
      await kubectl(['delete', 'videos', '--all', '-n', ns, '--wait=true', '--timeout=180s'], {
        timeoutMs: 190_000,
      });
      await helm(['uninstall', RELEASE, '-n', ns, '--wait', '--timeout', '3m']);
      installed = false;
      const left = await waitUntil(
        async () => {
          const out = (await kubectl(['get', 'pods,jobs,services', '-n', ns, '-o', 'name'])).trim();
          return out === '' ? 'none' : false;
        },
        `no Pods, Jobs or Services in ${ns}`,
        120_000,
      );
      expect(left).to.equal('none');
    });
  });
});
