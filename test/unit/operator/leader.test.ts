import { expect } from 'chai';
import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { createLogger } from '../../../common/logging/index.js';
import { LeaderElector } from '../../../operator/runtime/leader.js';

/** An in-memory Lease store with resourceVersion checks, as the API server does them. */
function fakeApi() {
  let lease: V1Lease | undefined;
  let rv = 0;
  const err = (code: number) => Object.assign(new Error(String(code)), { code });
  const api = {
    async readNamespacedLease() {
      if (!lease) throw err(404);
      return structuredClone(lease);
    },
    async createNamespacedLease({ body }: { body: V1Lease }) {
      if (lease) throw err(409);
      lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return lease;
    },
    async replaceNamespacedLease({ body }: { body: V1Lease }) {
      if (!lease || body.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw err(409);
      lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      return lease;
    },
  };
  return { api: api as unknown as CoordinationV1Api, get: () => lease };
}

const logger = createLogger('leader-test', { level: 'silent' });
const elector = (api: CoordinationV1Api, identity: string) =>
  new LeaderElector({
    api,
    namespace: 'ns',
    name: 'lease',
    identity,
    leaseDurationSeconds: 1,
    renewDeadlineMs: 500,
    retryPeriodMs: 50,
    logger,
    onStartedLeading: () => undefined,
    onStoppedLeading: () => undefined,
  });

describe('operator/runtime/leader', () => {
  it('the first candidate creates the Lease; a second one does not take a live Lease', async () => {
    const { api, get } = fakeApi();
    const a = elector(api, 'a');
    const b = elector(api, 'b');
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(get()?.spec?.holderIdentity).to.equal('a');
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    expect(await a.tryAcquireOrRenew()).to.equal(true); // renew
    expect(get()?.spec?.leaseTransitions).to.equal(0);
  });

  it('takes a Lease whose holder stopped renewing, once leaseDuration passed on the local clock', async () => {
    const { api, get } = fakeApi();
    const a = elector(api, 'a');
    const b = elector(api, 'b');
    await a.tryAcquireOrRenew();
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    const t0 = Date.now();
    let won = false;
    while (!won && Date.now() - t0 < 3000) {
      won = await b.tryAcquireOrRenew();
      if (!won) await new Promise((r) => setTimeout(r, 50));
    }
    expect(won).to.equal(true);
    expect(Date.now() - t0).to.be.at.least(900);
    expect(get()?.spec?.holderIdentity).to.equal('b');
    expect(get()?.spec?.leaseTransitions).to.equal(1);
  });

  it('loses a race on the resourceVersion instead of overwriting the winner', async () => {
    const { api, get } = fakeApi();
    // b reads the free Lease, then a takes it before b writes: b's write carries a stale version.
    const racing = {
      ...api,
      readNamespacedLease: async (args: { name: string; namespace: string }) => {
        const seen = await api.readNamespacedLease(args);
        await elector(api, 'a').tryAcquireOrRenew();
        return seen;
      },
    } as unknown as CoordinationV1Api;
    await api.createNamespacedLease({
      namespace: 'ns',
      body: { metadata: { name: 'lease', namespace: 'ns' }, spec: { leaseDurationSeconds: 1 } },
    });
    expect(await elector(racing, 'b').tryAcquireOrRenew()).to.equal(false);
    expect(get()?.spec?.holderIdentity).to.equal('a');
  });

  it('start/stop: leads, then releases the Lease on stop so another can take it at once', async () => {
    const { api, get } = fakeApi();
    const events: string[] = [];
    const a = new LeaderElector({
      api,
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      leaseDurationSeconds: 10,
      renewDeadlineMs: 5000,
      retryPeriodMs: 20,
      logger,
      onStartedLeading: () => events.push('start'),
      onStoppedLeading: () => events.push('stop'),
    });
    a.start();
    const t0 = Date.now();
    while (!a.isLeader && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(a.isLeader).to.equal(true);
    await a.stop();
    expect(events).to.deep.equal(['start', 'stop']);
    expect(get()?.spec?.holderIdentity).to.equal(undefined);
    expect(await elector(api, 'b').tryAcquireOrRenew()).to.equal(true);
  });

  it('steps down at the renew deadline while a renew hangs (the API server unreachable), not when it answers', async () => {
    const { api } = fakeApi();
    let hang = false;
    const hanging = {
      ...api,
      readNamespacedLease: (args: { name: string; namespace: string }) =>
        hang ? new Promise<never>(() => undefined) : api.readNamespacedLease(args),
    } as unknown as CoordinationV1Api;
    let stoppedAt = 0;
    const a = new LeaderElector({
      api: hanging,
      namespace: 'ns',
      name: 'lease',
      identity: 'a',
      leaseDurationSeconds: 2,
      renewDeadlineMs: 300,
      retryPeriodMs: 20,
      logger,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => (stoppedAt = Date.now()),
    });
    a.start();
    const t0 = Date.now();
    while (!a.isLeader && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
    expect(a.isLeader).to.equal(true);
    hang = true;
    const cut = Date.now();
    while (a.isLeader && Date.now() - cut < 1900) await new Promise((r) => setTimeout(r, 10));
    expect(a.isLeader, 'still leading while its renew hangs').to.equal(false);
    // within the renew deadline (plus one retry period), well before the 2 s Lease expires for a standby
    expect(stoppedAt - cut).to.be.below(1000);
    await a.stop();
  });

  it('refuses a renew deadline not shorter than the lease', () => {
    const { api } = fakeApi();
    expect(
      () =>
        new LeaderElector({
          api,
          namespace: 'ns',
          name: 'l',
          identity: 'x',
          leaseDurationSeconds: 1,
          renewDeadlineMs: 1000,
          logger,
          onStartedLeading: () => undefined,
          onStoppedLeading: () => undefined,
        }),
    ).to.throw(/renewDeadline/);
  });
});
