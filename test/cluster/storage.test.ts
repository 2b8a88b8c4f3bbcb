/**
 * The kind cluster's default StorageClass (issue 20; hack/cluster/cluster.sh deploys it): "standard" is
 * the only default class, served by the local-path provisioner built here; a claim without a class is
 * provisioned once its Pod is scheduled (WaitForFirstConsumer), a non-root Pod writes to it, and a second
 * Pod finds the data after the first one is gone. Figure printed: claim created → volume bound.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { clusterConfig } from '../support/cluster-hooks.js';
import { createTestNamespace, deleteNamespace } from '../support/kube.js';
import { waitFor } from '../support/waiters.js';
import { restrictedContainer, waitForPodPhase } from './support.js';

const versions = readFileSync(new URL('../../hack/versions.env', import.meta.url), 'utf8');
const LOCAL_PATH_VERSION = /^LOCAL_PATH_PROVISIONER_VERSION=(.*)$/m.exec(versions)![1]!;
/** An image every cluster of ours has (loaded by cluster.sh's storage step), with sh and coreutils. */
const IMAGE = `videoflix/local-path-provisioner:${LOCAL_PATH_VERSION}`;

describe('cluster tier: the default StorageClass (local-path provisioner)', function () {
  this.timeout(300_000);
  const kc = clusterConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  let namespace: string;

  before(async function () {
    namespace = await createTestNamespace(kc, 'storage');
  });
  after(async function () {
    if (namespace && process.env.KEEP_NAMESPACE !== '1') await deleteNamespace(kc, namespace);
  });

  it('has one default class, "standard", provisioned by rancher.io/local-path', async function () {
    const classes = (await storage.listStorageClass()).items;
    const defaults = classes.filter(
      (c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
    );
    expect(defaults.map((c) => [c.metadata?.name, c.provisioner, c.volumeBindingMode])).to.deep.equal([
      ['standard', 'rancher.io/local-path', 'WaitForFirstConsumer'],
    ]);
  });

  it('provisions a claim without a class for a non-root Pod; a later Pod reads what the first wrote', async function () {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
      },
    });
    const pod = (name: string, script: string): k8s.V1Pod => ({
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
        containers: [
          {
            ...restrictedContainer,
            imagePullPolicy: 'IfNotPresent',
            name,
            image: IMAGE,
            command: ['sh', '-c', script],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    // the way PostgreSQL uses its volume: a private subdirectory made by the non-root user
    await core.createNamespacedPod({
      namespace,
      body: pod('writer', 'mkdir -m 0700 /data/pgdata && echo kept > /data/pgdata/file && id -u'),
    });
    const claim = await waitFor(
      async () => {
        const c = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
        return c.status?.phase === 'Bound' ? c : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, what: 'claim data Bound' },
    );
    const pv = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
    const seconds =
      (new Date(pv.metadata!.creationTimestamp!).getTime() -
        new Date(claim.metadata!.creationTimestamp!).getTime()) /
      1000;
    console.log(`      [figure] claim created → volume created: ${seconds} s (1 s resolution)`);
    expect(pv.spec?.storageClassName).to.equal('standard');
    const w = await waitForPodPhase(core, namespace, 'writer', ['Succeeded', 'Failed'], 180_000);
    const wlog = await core.readNamespacedPodLog({ namespace, name: 'writer' });
    expect(w.status?.phase, wlog).to.equal('Succeeded');
    expect(wlog.trim()).to.equal('10001');
    await core.deleteNamespacedPod({ namespace, name: 'writer' });
    await core.createNamespacedPod({ namespace, body: pod('reader', 'cat /data/pgdata/file') });
    const r = await waitForPodPhase(core, namespace, 'reader', ['Succeeded', 'Failed'], 180_000);
    const rlog = await core.readNamespacedPodLog({ namespace, name: 'reader' });
    expect(r.status?.phase, rlog).to.equal('Succeeded');
    expect(rlog.trim()).to.equal('kept');
  });
});
