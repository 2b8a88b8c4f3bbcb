/** Two replicas in-process against the real API server: only the Lease holder reconciles. */
import { expect } from 'chai';
import { createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  ensureTranscoderServiceAccount,
  getVideo,
  makeBuckets,
  ownedJobs,
  s3,
  startOperator,
  waitJobs,
  waitPhase,
  writeProbe,
  writeRendition,
  type RunningOperator,
  dropNamespace,
} from './helpers.js';

const LEASE = {
  name: 'videoflix-operator',
  leaseDurationSeconds: 2,
  renewDeadlineMs: 1500,
  retryPeriodMs: 200,
};

describe('operator leader election (two replicas, one Lease)', function () {
  this.timeout(60_000);
  const { kc, custom, batch, core, coordination } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  const replicas: RunningOperator[] = [];

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
  });

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'op-le');
    await ensureTranscoderServiceAccount(core, ns);
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.stop()));
    await dropNamespace(kc, custom, ns);
  });

  async function start(identity: string, releaseOnStop = true) {
    const r = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      identity,
      leaderElection: { namespace: ns, ...LEASE, releaseOnStop },
    });
    replicas.push(r);
    return r;
  }

  const reconciles = async (r: RunningOperator) => {
    const m = await r.controller.metrics.registry.getSingleMetricAsString(
      'videoflix_operator_reconcile_total',
    );
    return [...m.matchAll(/} (\d+)/g)].reduce((n, x) => n + Number(x[1]), 0);
  };

  const holder = async () =>
    (await coordination.readNamespacedLease({ name: LEASE.name, namespace: ns })).spec?.holderIdentity;

  it('one leader acts; the standby takes over when it steps down, without duplicates', async () => {
    const [a, b] = await Promise.all([start('replica-a'), start('replica-b')]);
    const leaders = await waitFor(
      () => {
        const l = [a, b].filter((r) => r.controller.isLeader);
        return l.length > 0 ? l : undefined;
      },
      { what: 'a leader' },
    );
    expect(leaders, 'exactly one leader').to.have.length(1);
    const leader = leaders[0];
    const standby = leader === a ? b : a;
    expect(await holder()).to.equal(leader === a ? 'replica-a' : 'replica-b');

    await createVideo(custom, ns, 'ha', { source: { bucket: buckets.sources, key: 'ha.mp4' } });
    await waitJobs(batch, ns, ['ha-thumbnail']);
    await waitFor(async () => (await getVideo(custom, ns, 'ha')).status?.phase === 'Processing', {
      what: 'Processing',
    });
    expect(await reconciles(leader!)).to.be.greaterThan(0);
    expect(await reconciles(standby!)).to.equal(0);
    expect(standby!.controller.isLeader).to.equal(false);
    expect(standby!.controller.ready().ok).to.equal(true); // a warm standby is ready

    // The leader steps down (graceful stop releases the Lease): the standby takes over at once.
    const t0 = Date.now();
    await leader!.stop();
    await waitFor(() => standby!.controller.isLeader, { timeoutMs: 5_000, what: 'standby leads' });
    const takeoverMs = Date.now() - t0;
    const uid = (await getVideo(custom, ns, 'ha')).metadata.uid!;
    await writeProbe(storage, buckets.media, uid, {
      durationSeconds: 12,
      width: 1280,
      height: 720,
      hasAudio: true,
    });
    await completeJob(batch, ns, 'ha-thumbnail');
    await waitJobs(batch, ns, ['ha-480p', 'ha-720p']);
    for (const r of ['480p', '720p'] as const) {
      await writeRendition(storage, buckets.media, uid, r, [0, 6]);
      await completeJob(batch, ns, `ha-${r}`);
    }
    await waitPhase(custom, ns, 'ha', 'Ready');
    expect((await ownedJobs(batch, ns)).map((j) => j.metadata?.name).sort()).to.deep.equal([
      'ha-480p',
      'ha-720p',
      'ha-thumbnail',
    ]);
    process.stderr.write(`      (takeover after release: ${takeoverMs} ms)\n`);
  });

  it('a crashed leader (Lease not released) is replaced once the Lease expires', async () => {
    const a = await start('crash-a', false);
    await waitFor(() => a.controller.isLeader, { what: 'a leads' });
    const b = await start('crash-b');
    expect(b.controller.isLeader).to.equal(false);
    const t0 = Date.now();
    await a.stop(); // stops renewing, leaves the Lease held
    expect(await holder()).to.equal('crash-a');
    await waitFor(() => b.controller.isLeader, { timeoutMs: 10_000, what: 'b leads after expiry' });
    const waited = Date.now() - t0;
    expect(waited).to.be.at.least(LEASE.leaseDurationSeconds * 1000 - 300);
    expect(await holder()).to.equal('crash-b');
    const lease = await coordination.readNamespacedLease({ name: LEASE.name, namespace: ns });
    expect(lease.spec?.leaseTransitions).to.equal(1);
    process.stderr.write(`      (takeover after expiry: ${waited} ms)\n`);
  });
});
