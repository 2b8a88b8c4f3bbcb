import { expect } from 'chai';
import { GiveUp, WaitTimeoutError, waitFor } from '@videoflix/testkit/waiters';

describe('waitFor', () => {
  it('resolves with the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), {
      timeoutMs: 2000,
      intervalMs: 5,
    });
    expect(value).to.deep.equal({ calls: 3 });
  });

  it('keeps polling through thrown errors', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        if (++calls < 3) throw new Error(`not yet ${calls}`);
        return 'done';
      },
      { timeoutMs: 2000, intervalMs: 5 },
    );
    expect(value).to.equal('done');
  });

  it('says what it waited for and what it last saw at the deadline', async () => {
    let n = 0;
    const start = Date.now();
    const err = await waitFor(() => (n++, false), { timeoutMs: 120, intervalMs: 10, what: 'the moon' }).then(
      () => expect.fail('waitFor resolved'),
      (e: unknown) => e,
    );
    expect(Date.now() - start).to.be.within(100, 1000);
    expect(err).to.be.instanceOf(WaitTimeoutError);
    expect((err as Error).message).to.match(/waiting for the moon; last saw: false/);
    expect(n).to.be.greaterThan(3);
  });

  it('reports the last error it saw', async () => {
    const err = await waitFor(
      () => {
        throw new Error('connection refused');
      },
      { timeoutMs: 50, intervalMs: 10, what: 'a server' },
    ).catch((e: unknown) => e);
    expect((err as Error).message)
      .to.contain('a server')
      .and.contain('connection refused');
  });

  it('stops at once on GiveUp', async () => {
    let calls = 0;
    const err = await waitFor(
      () => {
        calls++;
        throw new GiveUp('process died');
      },
      { timeoutMs: 5000, intervalMs: 10 },
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(GiveUp);
    expect(calls).to.equal(1);
  });
});
