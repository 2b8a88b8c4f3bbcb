/**
 * The real Job controller makes a Job's Pod, and the real garbage collector removes the Pod once
 * the Job is deleted with propagationPolicy Background. There are no nodes: the Pod stays Pending.
 * Also: RBAC is on and service-account tokens are signed by the API server.
 */
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { apiStatus, createTestNamespace, deleteNamespace, kubeConfig } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';

describe('foundation: Jobs, Pods and garbage collection on the real control plane', function () {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  let namespace = '';

  before(async function () {
    namespace = await createTestNamespace(kc, 'foundation-job');
  });

  after(async function () {
    if (namespace) await deleteNamespace(kc, namespace);
  });

  it('creates the Pod of a Job and garbage-collects it when the Job is deleted', async function () {
    const job = await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'hello', labels: { 'app.kubernetes.io/name': 'foundation-test' } },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }],
            },
          },
        },
      },
    });
    const jobUid = job.metadata?.uid;
    expect(jobUid).to.be.a('string');

    const pod = await waitFor(
      async () =>
        (await core.listNamespacedPod({ namespace, labelSelector: 'batch.kubernetes.io/job-name=hello' }))
          .items[0],
      { timeoutMs: 20_000, what: 'the Pod the Job controller creates for Job hello' },
    );
    const owner = pod.metadata?.ownerReferences?.[0];
    expect(owner, 'ownerReference of the pod').to.include({
      kind: 'Job',
      name: 'hello',
      uid: jobUid,
      controller: true,
    });
    expect(pod.status?.phase).to.equal('Pending'); // no nodes in the host tier
    expect(pod.spec?.serviceAccountName).to.equal('default'); // ServiceAccount admission ran
    expect(pod.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-'))).to.equal(true);

    const active = await waitFor(
      async () => (await batch.readNamespacedJobStatus({ name: 'hello', namespace })).status?.active,
      {
        timeoutMs: 10_000,
        what: 'status.active of Job hello',
      },
    );
    expect(active).to.equal(1);

    await batch.deleteNamespacedJob({ name: 'hello', namespace, propagationPolicy: 'Background' });
    await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace });
        if (pods.items.length)
          throw new Error(
            `pods left: ${pods.items.map((p) => `${p.metadata?.name} (finalizers ${p.metadata?.finalizers?.join(',')})`).join(', ')}`,
          );
        return true;
      },
      { timeoutMs: 20_000, what: 'the garbage collector to delete the Pod of the deleted Job' },
    );
    const gone = await batch.readNamespacedJob({ name: 'hello', namespace }).then(
      () => 200,
      (err: unknown) => apiStatus(err),
    );
    expect(gone).to.equal(404);
  });

  it('signs service-account tokens that RBAC then restricts', async function () {
    const token = await core.createNamespacedServiceAccountToken({
      name: 'default',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const jwt = token.status?.token ?? '';
    expect(jwt.split('.')).to.have.length(3);

    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no cluster');
    const saConfig = new k8s.KubeConfig();
    saConfig.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
      users: [{ name: 'sa', token: jwt }],
      contexts: [{ name: 'sa', cluster: 'c', user: 'sa' }],
      currentContext: 'sa',
    });
    const review = await saConfig
      .makeApiClient(k8s.AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).to.equal(`system:serviceaccount:${namespace}:default`);

    const denied = await saConfig
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedSecret({ namespace })
      .then(
        () => 200,
        (err: unknown) => apiStatus(err),
      );
    expect(denied, 'RBAC must forbid the default service account to list secrets').to.equal(403);

    const forged = new k8s.KubeConfig();
    forged.loadFromOptions({
      clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData }],
      users: [{ name: 'sa', token: `${jwt.slice(0, -4)}AAAA` }],
      contexts: [{ name: 'sa', cluster: 'c', user: 'sa' }],
      currentContext: 'sa',
    });
    const status = await forged
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({ namespace })
      .then(
        () => 200,
        (err: unknown) => apiStatus(err),
      );
    expect(status, 'a token with a broken signature must be rejected').to.equal(401);
  });
});
