import { expect } from 'chai';
import { backoffDelay, backoffSchedule, sleep } from '../../../common/backoff/index.js';
import { CONNECT_RETRY_DELAYS_MS } from '../../../common/storage/index.js';

describe('common/backoff: the one backoff', () => {
  it('doubles from the base per attempt, capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, 100, 1_000))).to.deep.equal([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    expect(backoffDelay(0, 100, 1_000)).to.equal(100);
  });

  it('with jitter j, stays between (1-j) and 1 times the delay', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, 100, 1_000, 0.2);
      expect(d).to.be.within(320, 400);
    }
  });

  it('a schedule is the delays of successive attempts (the S3 first-contact retry uses one)', () => {
    expect(backoffSchedule(4, 250, 1_000)).to.deep.equal([250, 500, 1000, 1000]);
    expect(CONNECT_RETRY_DELAYS_MS).to.deep.equal([500, 1000, 2000, 4000, 8000, 15000]);
  });

  it('sleep ends early when its signal aborts', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const slept = sleep(60_000, ac.signal);
    ac.abort();
    await slept;
    expect(Date.now() - started).to.be.below(1_000);
  });
});
