/**
 * The operator with exactly the permissions of operator/rbac/rules.yaml (a ServiceAccount token,
 * no system:masters): a Video goes to Ready, fails, and is deleted; the Lease works.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { GROUP, PLURAL, VERSION, keys } from '../../../common/video/index.js';
import { createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  REPO_ROOT,
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  ensureTranscoderServiceAccount,
  failJob,
  getVideo,
  listKeys,
  makeBuckets,
  ownedJobs,
  s3,
  startOperator,
  videoGone,
  waitJobs,
  waitPhase,
  writeProbe,
  writeRendition,
  type RunningOperator,
  dropNamespace,
} from './helpers.js';

const rules = parse(fs.readFileSync(path.join(REPO_ROOT, 'operator/rbac/rules.yaml'), 'utf8')) as Record<
  'workload' | 'leader-election',
  k8s.V1PolicyRule[]
>;

describe('operator RBAC (operator/rbac/rules.yaml is enough)', function () {
  this.timeout(60_000);
  const { kc, custom, batch, core } = clients();
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  let ns: string;
  let op: RunningOperator | undefined;

  before(applyVideoCrd);

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'op-rbac');
    await ensureTranscoderServiceAccount(core, ns);
  });

  afterEach(async () => {
    await op?.stop();
    op = undefined;
    await dropNamespace(kc, custom, ns);
  });

  /** A kubeconfig that authenticates as the ServiceAccount videoflix-operator in `ns`. */
  async function operatorKubeConfig(): Promise<k8s.KubeConfig> {
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'videoflix-operator' } },
    });
    for (const [name, list] of Object.entries(rules)) {
      await rbac.createNamespacedRole({
        namespace: ns,
        body: { metadata: { name: `videoflix-operator-${name}` }, rules: list },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: `videoflix-operator-${name}` },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Role',
            name: `videoflix-operator-${name}`,
          },
          subjects: [{ kind: 'ServiceAccount', name: 'videoflix-operator', namespace: ns }],
        },
      });
    }
    const token = await core.createNamespacedServiceAccountToken({
      name: 'videoflix-operator',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const cluster = kc.getCurrentCluster()!;
    const sa = new k8s.KubeConfig();
    sa.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'videoflix-operator', token: token.status!.token }],
      contexts: [{ name: 'sa', cluster: cluster.name, user: 'videoflix-operator', namespace: ns }],
      currentContext: 'sa',
    });
    // Sanity: the token really is limited (no access to another namespace's Jobs).
    let denied: unknown;
    await sa
      .makeApiClient(k8s.BatchV1Api)
      .listNamespacedJob({ namespace: 'default' })
      .catch((e: unknown) => (denied = e));
    expect((denied as { code?: number })?.code).to.equal(403);
    return sa;
  }

  it('reconciles to Ready, to Failed and through deletion with only these rules', async () => {
    const sa = await operatorKubeConfig();
    const storage = s3();
    const buckets = await makeBuckets(storage);
    op = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      kubeConfig: sa,
      leaderElection: {
        namespace: ns,
        name: 'videoflix-operator',
        leaseDurationSeconds: 3,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
      },
    });
    await waitFor(() => op!.controller.isLeader, { what: 'leader with the SA token' });

    await createVideo(custom, ns, 'ok', { source: { bucket: buckets.sources, key: 'ok.mp4' } });
    await createVideo(custom, ns, 'ko', { source: { bucket: buckets.sources, key: 'ko.mp4' } });
    await waitJobs(batch, ns, ['ok-thumbnail', 'ko-thumbnail']);
    const uid = (await getVideo(custom, ns, 'ok')).metadata.uid!;
    await writeProbe(storage, buckets.media, uid, {
      durationSeconds: 6,
      width: 854,
      height: 480,
      hasAudio: true,
    });
    await completeJob(batch, ns, 'ok-thumbnail');
    await waitJobs(batch, ns, ['ok-480p']);
    await writeRendition(storage, buckets.media, uid, '480p', [0]);
    await completeJob(batch, ns, 'ok-480p');
    await waitPhase(custom, ns, 'ok', 'Ready');
    await failJob(batch, ns, 'ko-thumbnail');
    await waitPhase(custom, ns, 'ko', 'Failed');
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=ko' });
    await waitFor(
      async () =>
        (
          await core.listNamespacedEvent({
            namespace: ns,
            fieldSelector: 'involvedObject.name=ko,type=Warning',
          })
        ).items.length > 0,
      {
        what: `a Warning event recorded with the SA token (saw ${events.items.length} events)`,
      },
    );

    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'ok',
    });
    await waitFor(() => videoGone(custom, ns, 'ok'), { timeoutMs: 30_000, what: 'Video deleted' });
    expect(await listKeys(storage, buckets.media, keys.prefix(uid))).to.deep.equal([]);
    expect((await ownedJobs(batch, ns)).map((j) => j.metadata?.name)).to.deep.equal(['ko-thumbnail']);
    const errors =
      (await op.controller.metrics.reconciles.get()).values.find((v) => v.labels.result === 'error')?.value ??
      0;
    expect(errors, 'no reconcile failed (e.g. with 403)').to.equal(0);
  });
});
