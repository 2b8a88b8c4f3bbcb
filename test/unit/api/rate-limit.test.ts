/** The pure parts of the rate limits: the slow-down curve and the account key. */
import { expect } from 'chai';
import { accountKey, slowdownMs } from '../../../api/middleware/rate-limit.js';

describe('api: rate-limit slow-down and keys', function () {
  const s = { after: 5, baseMs: 500, maxMs: 10_000 };

  it('waits nothing before `after` failures, then doubles from the base up to the maximum', function () {
    expect([0, 4].map((n) => slowdownMs(n, s))).to.deep.equal([0, 0]);
    expect([5, 6, 7, 9].map((n) => slowdownMs(n, s))).to.deep.equal([500, 1000, 2000, 8000]);
    expect(slowdownMs(10, s)).to.equal(10_000);
    expect(slowdownMs(1_000_000, s)).to.equal(10_000); // no overflow to Infinity or NaN
  });

  it('turns an account address into a short hash, case and surrounding blanks aside', function () {
    const k = accountKey('  Alice@Example.TEST ');
    expect(k).to.equal(accountKey('alice@example.test'));
    expect(k).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(k).to.not.equal(accountKey('bob@example.test'));
    expect(accountKey('x'.repeat(10_000))).to.have.length(32); // the store's key stays short
    expect(accountKey(undefined)).to.equal(accountKey(''));
  });
});
