/**
 * The Video CRD's versions on the real kube-apiserver + etcd of the host tier:
 * - v1beta1 (stored) and v1alpha1 (deprecated, same schema, no webhook) serve the same objects;
 * - operator/cli/migrate-storage.ts rewrites every stored object into the storage version (read back
 *   raw from etcd) and leaves status.storedVersions = [v1beta1]; idempotent; safe with writers at work.
 * The migration runs on a copy of crds/media.videoflix.io_videos.yaml under a group of its own (its
 * previous release: the same schema with v1alpha1 as the only, stored, version), so it never disturbs
 * the Video CRD other tests use: a CRD cannot go back to an older storage version.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { parse, stringify } from 'yaml';
import {
  API_VERSION,
  CRD_NAME,
  DEPRECATED_VERSIONS,
  GROUP,
  PLURAL,
  VERSION,
} from '../../../common/video/index.js';
import { migrateStorage, type MigrateTarget } from '../../../operator/cli/migrate-storage.js';
import { applyCrds, BIN_DIR, hostEnv } from '../../support/hostenv.js';
import { createTestNamespace, deleteNamespace, kubeConfig, uniqueName } from '../../support/kube.js';
import { clients, createVideo, MERGE, REPO_ROOT } from './helpers.js';

const execFileP = promisify(execFile);
const CRD_FILE = path.join(REPO_ROOT, 'crds/media.videoflix.io_videos.yaml');
const OLD = DEPRECATED_VERSIONS[0];

/** Raw values under `prefix` in the host tier's etcd (its v3 HTTP gateway): key → {apiVersion, rev}. */
async function etcdObjects(
  prefix: string,
): Promise<Map<string, { apiVersion: string; modRevision: string }>> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const res = await fetch(`http://127.0.0.1:${hostEnv().state.ports.etcd}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64(prefix), range_end: b64(end) }),
  });
  expect(res.status, 'etcd range').to.equal(200);
  const body = (await res.json()) as { kvs?: Array<{ key: string; value: string; mod_revision: string }> };
  const out = new Map<string, { apiVersion: string; modRevision: string }>();
  for (const kv of body.kvs ?? []) {
    const value = JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8')) as { apiVersion: string };
    out.set(Buffer.from(kv.key, 'base64').toString('utf8'), {
      apiVersion: value.apiVersion,
      modRevision: kv.mod_revision,
    });
  }
  return out;
}

async function kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const child = execFileP(path.join(BIN_DIR, 'kubectl'), ['--kubeconfig', process.env.KUBECONFIG!, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (input !== undefined) child.child.stdin?.end(input);
  return child;
}

/**
 * The repository's CRD text under a group and resource names of its own: a copy that shares the plural,
 * short name or category of the real one shadows `kubectl get videos` / `vid` / `videoflix` in later tests
 * (kubectl's cached discovery still lists a deleted copy's group).
 */
const ISOLATED_PLURAL = 'crdcheckvideos';
function isolatedCrd(group: string): string {
  const text = fs
    .readFileSync(CRD_FILE, 'utf8')
    .replaceAll(CRD_NAME, `${ISOLATED_PLURAL}.${group}`)
    .replaceAll(`group: ${GROUP}`, `group: ${group}`)
    .replace(/^( +)plural: videos$/m, `$1plural: ${ISOLATED_PLURAL}`)
    .replace(/^( +)singular: video$/m, '$1singular: crdcheckvideo')
    .replace(/^ +shortNames: .*\n/m, '')
    .replace(/^ +categories: .*\n/m, '');
  if (!text.includes(`plural: ${ISOLATED_PLURAL}`) || /shortNames|categories:/.test(text))
    throw new Error('the CRD copy still carries the real resource names');
  return text;
}

describe('operator: the Video CRD versions and the storage version migration', function () {
  this.timeout(180_000);
  const { custom } = clients();
  let ns: string;
  let tmp: string;

  before(async () => {
    ns = await createTestNamespace(kubeConfig(), 'crd-versions', { waitForServiceAccount: false });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crd-versions-'));
  });
  after(async () => {
    if (ns) await deleteNamespace(kubeConfig(), ns, { wait: false });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves one object as v1beta1 and as the deprecated v1alpha1 (no webhook), warning on v1alpha1', async () => {
    const video = (name: string, apiVersion: string) =>
      JSON.stringify({
        apiVersion,
        kind: 'Video',
        metadata: { name, namespace: ns },
        spec: { title: name, source: { bucket: 'videoflix-sources', key: `${name}.mp4` } },
      });
    const created = await kubectl(['create', '-f', '-'], video('made-old', `${GROUP}/${OLD}`));
    expect(created.stderr).to.contain(`Warning: ${GROUP}/${OLD} Video is deprecated; use ${API_VERSION}`);
    await kubectl(['create', '-f', '-'], video('made-new', API_VERSION));

    for (const name of ['made-old', 'made-new']) {
      const asNew = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name,
      })) as {
        apiVersion: string;
        metadata: { uid: string };
        spec: { renditions: string[] };
      };
      const asOld = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: OLD,
        namespace: ns,
        plural: PLURAL,
        name,
      })) as typeof asNew;
      expect(asNew.apiVersion, name).to.equal(API_VERSION);
      expect(asOld.apiVersion, name).to.equal(`${GROUP}/${OLD}`);
      expect(asOld.metadata.uid).to.equal(asNew.metadata.uid);
      expect(asNew.spec.renditions, 'the schema default, in both').to.deep.equal(['480p', '720p', '1080p']);
      expect(asOld.spec).to.deep.equal(asNew.spec);
    }
    // the same CEL rules through both: the source stays immutable, the ladder may only grow
    for (const version of [VERSION, OLD]) {
      const patch = (spec: object) =>
        custom.patchNamespacedCustomObject(
          { group: GROUP, version, namespace: ns, plural: PLURAL, name: 'made-old', body: { spec } },
          MERGE,
        );
      const refused = await patch({ source: { key: 'other.mp4' } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String((refused as { body?: unknown })?.body), version).to.contain('spec.source is immutable');
      const shrunk = await patch({ renditions: ['480p'] }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String((shrunk as { body?: unknown })?.body), version).to.contain(
        'spec.renditions may only grow',
      );
    }
    const small = await createVideo(custom, ns, 'small', {
      source: { bucket: 'videoflix-sources', key: 's.mp4' },
      renditions: ['480p'],
    });
    expect(small.spec.renditions).to.deep.equal(['480p']);
    await custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: OLD,
        namespace: ns,
        plural: PLURAL,
        name: 'small',
        body: { spec: { renditions: ['480p', '1080p'] } },
      },
      MERGE,
    );
    // the real Video CRD is stored as v1beta1 only (a fresh environment applied crds/)
    const ext = kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const crd = await ext.readCustomResourceDefinition({ name: CRD_NAME });
    expect(crd.status?.storedVersions).to.deep.equal([VERSION]);
    const raw = await etcdObjects(`/registry/${GROUP}/${PLURAL}/${ns}/`);
    expect([...raw.values()].map((v) => v.apiVersion)).to.deep.equal([API_VERSION, API_VERSION, API_VERSION]);
  });

  it("runs on the Video CRD with only the chart's hook ClusterRole (a ServiceAccount token)", async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    // the rules as the chart renders them (the template's rules: block is plain YAML)
    const template = fs.readFileSync(
      path.join(REPO_ROOT, 'charts/videoflix/templates/crd-migration-clusterrole.yaml'),
      'utf8',
    );
    const block = template.slice(template.indexOf('\nrules:\n') + 1, template.lastIndexOf('{{- end }}'));
    const rules = (parse(block) as { rules: k8s.V1PolicyRule[] }).rules;
    expect(rules.map((r) => r.resources?.[0])).to.deep.equal([
      'customresourcedefinitions',
      'customresourcedefinitions/status',
      'videos',
    ]);
    const name = uniqueName('crd-migration');
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    await rbac.createClusterRole({ body: { metadata: { name }, rules } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
    });
    try {
      const token = await core.createNamespacedServiceAccountToken({
        name,
        namespace: ns,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      const cluster = kc.getCurrentCluster()!;
      const sa = new k8s.KubeConfig();
      sa.loadFromOptions({
        clusters: [cluster],
        users: [{ name, token: token.status!.token }],
        contexts: [{ name: 'sa', cluster: cluster.name, user: name }],
        currentContext: 'sa',
      });
      // as after `kubectl apply` of the new CRD over the previous release's
      await ext.patchCustomResourceDefinitionStatus(
        { name: CRD_NAME, body: { status: { storedVersions: [OLD, VERSION] } } },
        MERGE,
      );
      const result = await migrateStorage(sa, { expectVersion: VERSION });
      expect(result.objects).to.be.greaterThan(0);
      expect(result.storedVersionsBefore).to.deep.equal([OLD, VERSION]);
      expect(result.storedVersions).to.deep.equal([VERSION]);
      expect(
        (await ext.readCustomResourceDefinition({ name: CRD_NAME })).status?.storedVersions,
      ).to.deep.equal([VERSION]);
      // and nothing more: another CRD, deleting a Video
      const other = await sa
        .makeApiClient(k8s.ApiextensionsV1Api)
        .readCustomResourceDefinition({ name: 'leases.coordination.k8s.io' })
        .then(
          () => 200,
          (e: unknown) => (e as { code?: number }).code,
        );
      expect(other).to.equal(403);
      const del = await sa
        .makeApiClient(k8s.CustomObjectsApi)
        .deleteNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          name: 'made-new',
        })
        .then(
          () => 200,
          (e: unknown) => (e as { code?: number }).code,
        );
      expect(del).to.equal(403);
    } finally {
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
  });

  it('runs as the hook Job runs it (node operator/cli/migrate-storage): exit 0, or 1 naming the fix', async () => {
    const cli = (extra: Record<string, string>) =>
      execFileP(process.execPath, ['--import=tsx', path.join(REPO_ROOT, 'operator/cli/migrate-storage.ts')], {
        cwd: REPO_ROOT,
        env: { ...process.env, LOG_LEVEL: 'info', ...extra },
        timeout: 120_000,
      }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code,
          out: `${e.stdout}${e.stderr}`,
        }),
      );
    const done = await cli({});
    expect(done.code, done.out).to.equal(0);
    expect(done.out)
      .to.contain('storage version migration done')
      .and.contain(`"storageVersion":"${VERSION}"`);
    const refused = await cli({ MIGRATE_EXPECT_VERSION: 'v9' });
    expect(refused.code, refused.out).to.equal(1);
    expect(refused.out).to.contain("apply the chart's CRD first");
  });

  it("is installed by Helm from a chart's crds/ as kubectl applies it: the aliases resolved, both versions alike", async () => {
    const group = `${uniqueName('h')}.helm.videoflix.io`;
    const name = `${ISOLATED_PLURAL}.${group}`;
    const chart = path.join(tmp, 'helm-chart');
    fs.mkdirSync(path.join(chart, 'crds'), { recursive: true });
    fs.writeFileSync(path.join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: crd-check\nversion: 0.1.0\n');
    fs.writeFileSync(path.join(chart, 'crds/videos.yaml'), isolatedCrd(group));
    const ext = kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const release = uniqueName('crd-check');
    await execFileP(
      path.join(BIN_DIR, 'helm'),
      [
        'install',
        release,
        chart,
        '--kubeconfig',
        process.env.KUBECONFIG!,
        '-n',
        ns,
        '--wait',
        '--timeout',
        '60s',
      ],
      {
        env: {
          ...process.env,
          HELM_CONFIG_HOME: path.join(tmp, 'helm'),
          HELM_CACHE_HOME: path.join(tmp, 'helm'),
          HELM_DATA_HOME: path.join(tmp, 'helm'),
        },
      },
    );
    try {
      const crd = await ext.readCustomResourceDefinition({ name });
      expect(
        crd.spec.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
      ).to.deep.equal([
        [VERSION, true, true, false],
        [OLD, true, false, true],
      ]);
      const [stored, old] = crd.spec.versions;
      expect(old!.schema).to.deep.equal(stored!.schema);
      expect(old!.additionalPrinterColumns).to.deep.equal(stored!.additionalPrinterColumns);
      expect(old!.subresources).to.deep.equal(stored!.subresources);
      expect(Object.keys(stored!.schema?.openAPIV3Schema?.properties ?? {}).sort()).to.deep.equal([
        'apiVersion',
        'kind',
        'metadata',
        'spec',
        'status',
      ]);
    } finally {
      await ext.deleteCustomResourceDefinition({ name }).catch(() => undefined);
    }
  });

  it('migrates objects stored as v1alpha1 into v1beta1, drops v1alpha1 from storedVersions; idempotent, safe with writers', async () => {
    // the same CRD under a group of its own: first as the previous release had it, v1alpha1 only
    const group = `${uniqueName('m')}.migrate.videoflix.io`;
    const target: MigrateTarget = {
      crdName: `${ISOLATED_PLURAL}.${group}`,
      group,
      plural: ISOLATED_PLURAL,
    };
    const text = isolatedCrd(group);
    const current = parse(text) as { spec: { group: string; versions: Array<Record<string, unknown>> } };
    expect(current.spec.group).to.equal(group);
    const stored = current.spec.versions.find((v) => v.storage)!;
    const previous = structuredClone(current);
    previous.spec.versions = [{ ...structuredClone(stored), name: OLD, storage: true }];
    const dirOld = path.join(tmp, 'old');
    const dirNew = path.join(tmp, 'new');
    fs.mkdirSync(dirOld);
    fs.mkdirSync(dirNew);
    fs.writeFileSync(path.join(dirOld, 'crd.yaml'), stringify(previous));
    fs.writeFileSync(path.join(dirNew, 'crd.yaml'), text); // the repository's text: aliases and all
    const ext = kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    const kc = process.env.KUBECONFIG!;
    const c = (version: string) => ({ group, version, plural: ISOLATED_PLURAL });
    const body = (name: string, namespace: string, version: string) => ({
      apiVersion: `${group}/${version}`,
      kind: 'Video',
      metadata: { name, namespace },
      spec: { title: name, source: { bucket: 'videoflix-sources', key: `${name}.mp4` } },
    });
    const ns2 = await createTestNamespace(kubeConfig(), 'crd-versions-b', { waitForServiceAccount: false });
    try {
      await applyCrds(kc, [dirOld]);
      const names: Array<[string, string]> = [];
      for (let i = 0; i < 12; i++) names.push([i % 2 ? ns2 : ns, `v${i}`]);
      for (const [namespace, name] of names)
        await custom.createNamespacedCustomObject({ ...c(OLD), namespace, body: body(name, namespace, OLD) });
      const prefix = `/registry/${group}/${ISOLATED_PLURAL}/`;
      let raw = await etcdObjects(prefix);
      expect(raw.size).to.equal(12);
      expect(new Set([...raw.values()].map((v) => v.apiVersion))).to.deep.equal(new Set([`${group}/${OLD}`]));

      // the new CRD (kubectl apply --server-side, as the README says): both served, v1beta1 stored
      await applyCrds(kc, [dirNew]);
      let crd = await ext.readCustomResourceDefinition({ name: target.crdName });
      expect(crd.status?.storedVersions).to.deep.equal([OLD, VERSION]);
      raw = await etcdObjects(prefix);
      expect(
        [...raw.values()].every((v) => v.apiVersion === `${group}/${OLD}`),
        'nothing rewritten by the CRD update',
      ).to.equal(true);

      // refused while the CRD is not the one this release needs
      const wrong = await migrateStorage(kubeConfig(), { target, expectVersion: 'v9' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(String(wrong)).to.contain(
        `stores ${VERSION}, this release needs v9: apply the chart's CRD first`,
      );

      // migrate, with writers at work: a title written (through v1alpha1) right before some objects
      // are sent back (→ 409, re-read, again), one object deleted (→ skipped), one created meanwhile
      let n = 0;
      const renamed: Array<[string, string]> = [];
      const result = await migrateStorage(kubeConfig(), {
        target,
        expectVersion: VERSION,
        pageSize: 5,
        beforeRewrite: async (obj) => {
          const { name, namespace } = obj.metadata as { name: string; namespace: string };
          n++;
          if (n % 3 === 0) {
            renamed.push([namespace, name]);
            await custom.patchNamespacedCustomObject(
              { ...c(OLD), namespace, name, body: { spec: { title: `${name} renamed` } } },
              MERGE,
            );
          }
          if (n === 4) await custom.deleteNamespacedCustomObject({ ...c(OLD), namespace, name });
          if (n === 5)
            await custom.createNamespacedCustomObject({
              ...c(OLD),
              namespace,
              body: body('late', namespace, OLD),
            });
        },
      });
      expect(result.storageVersion).to.equal(VERSION);
      expect(result.conflicts, 'each concurrent write met as a 409 and retried').to.equal(4);
      expect(result.gone).to.equal(1);
      expect(result.objects).to.equal(11);
      expect(result.storedVersionsBefore).to.deep.equal([OLD, VERSION]);
      expect(result.storedVersions).to.deep.equal([VERSION]);
      crd = await ext.readCustomResourceDefinition({ name: target.crdName });
      expect(crd.status?.storedVersions).to.deep.equal([VERSION]);
      raw = await etcdObjects(prefix);
      expect(raw.size).to.equal(12); // 12 - 1 deleted + 1 created
      for (const [key, v] of raw) expect(v.apiVersion, key).to.equal(`${group}/${VERSION}`);
      // the concurrent writes are kept
      expect(renamed).to.have.length(4);
      for (const [namespace, name] of renamed) {
        const v = (await custom.getNamespacedCustomObject({ ...c(VERSION), namespace, name })) as {
          spec: { title: string };
        };
        expect(v.spec.title).to.equal(`${name} renamed`);
      }

      // idempotent: a second run writes nothing (every key keeps its revision) and patches nothing
      const again = await migrateStorage(kubeConfig(), { target, expectVersion: VERSION });
      expect(again).to.include({ objects: 12, gone: 0, conflicts: 0 });
      expect(again.storedVersionsBefore).to.deep.equal([VERSION]);
      const after = await etcdObjects(prefix);
      for (const [key, v] of after) expect(v.modRevision, key).to.equal(raw.get(key)?.modRevision);
    } finally {
      await deleteNamespace(kubeConfig(), ns2, { wait: false });
      await ext.deleteCustomResourceDefinition({ name: target.crdName }).catch(() => undefined);
    }
  });
});
