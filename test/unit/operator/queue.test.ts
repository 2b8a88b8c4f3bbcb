import { expect } from 'chai';
import { WorkQueue } from '../../../operator/runtime/queue.js';
import { backoffDelay } from '../../../operator/runtime/backoff.js';

describe('operator/runtime/queue', () => {
  it('holds a key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).to.equal(2);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
    expect(q.len()).to.equal(0);
  });

  it('never hands a key in processing to a second worker; re-queues it after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.len()).to.equal(0);
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await new Promise((r) => setImmediate(r));
    expect(second).to.equal(undefined);
    q.done(k!);
    await new Promise((r) => setImmediate(r));
    expect(second).to.equal('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.add('x');
    expect(await p).to.equal('x');
  });

  it('backs off per key exponentially up to a cap, and forget resets it', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100, burst: 1000 });
    expect([1, 2, 3, 4, 5].map(() => q.nextDelay('k'))).to.deep.equal([10, 20, 40, 80, 100]);
    expect(q.numRequeues('k')).to.equal(5);
    expect(q.nextDelay('other')).to.equal(10);
    q.forget('k');
    expect(q.nextDelay('k')).to.equal(10);
  });

  it('an overall token bucket limits a storm of retries', () => {
    let now = 0;
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1, qps: 10, burst: 2, now: () => now });
    expect(q.nextDelay('a')).to.equal(1);
    expect(q.nextDelay('b')).to.equal(1);
    expect(q.nextDelay('c')).to.equal(100);
    now = 1000;
    expect(q.nextDelay('d')).to.equal(1);
  });

  it('addRateLimited delivers the key after the delay', async () => {
    const q = new WorkQueue({ baseDelayMs: 20 });
    const t = Date.now();
    q.addRateLimited('k');
    expect(q.len()).to.equal(0);
    expect(await q.get()).to.equal('k');
    expect(Date.now() - t).to.be.at.least(15);
  });

  it('addAfter keeps the earlier of two delays', async () => {
    const q = new WorkQueue();
    q.addAfter('k', 10_000);
    q.addAfter('k', 10);
    expect(q.pendingDelayed()).to.equal(1);
    expect(await q.get()).to.equal('k');
  });

  it('shutDown releases waiting workers and refuses new keys', async () => {
    const q = new WorkQueue();
    const p = q.get();
    q.shutDown();
    expect(await p).to.equal(undefined);
    q.add('late');
    expect(q.len()).to.equal(0);
    expect(await q.get()).to.equal(undefined);
  });

  it('backoffDelay doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 10].map((n) => backoffDelay(n, 500, 30_000))).to.deep.equal([500, 1000, 2000, 30_000]);
  });
});
