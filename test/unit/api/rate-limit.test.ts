/** The pure parts of the rate limits and timeouts: the slow-down curve, the account key, settings, the route table. */
import { expect } from 'chai';
import type { Request } from 'express';
import { loadConfig } from '../../../common/config/index.js';
import { UPLOAD_PATH } from '../../../api/catalog/index.js';
import { apiSchema } from '../../../api/config.js';
import { accountKey, slowdownMs } from '../../../api/middleware/rate-limit.js';
import { timeoutFor } from '../../../api/middleware/timeout.js';

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

describe('api: rate-limit and timeout settings', function () {
  const base = { DATABASE_URL: 'postgres://u:p@localhost/db' };

  it('defaults: 10 failures per (account, address), 50 per address, slow-down after 5, 30 s per request', function () {
    const c = loadConfig(apiSchema, base);
    expect(c.RATE_LIMIT_LOGIN_MAX).to.equal(10);
    expect(c.RATE_LIMIT_LOGIN_IP_MAX).to.equal(50);
    expect(c.RATE_LIMIT_LOGIN_SLOWDOWN_AFTER).to.equal(5);
    expect(c.RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS).to.be.below(c.REQUEST_TIMEOUT_SECONDS * 1000);
    expect(c.REQUEST_TIMEOUT_SECONDS).to.equal(30);
  });

  it('refuses a slow-down longer than the request timeout, and budgets of zero', function () {
    expect(() =>
      loadConfig(apiSchema, {
        ...base,
        REQUEST_TIMEOUT_SECONDS: '5',
        RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS: '5000',
      }),
    ).to.throw(/RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS/);
    expect(() => loadConfig(apiSchema, { ...base, RATE_LIMIT_REFRESH_MAX: '0' })).to.throw(
      /RATE_LIMIT_REFRESH_MAX/,
    );
  });

  it('gives a route of the table its own timeout, every other request the default', function () {
    const routes = [{ method: 'POST', path: UPLOAD_PATH, seconds: 3600 }];
    const req = (method: string, path: string) => ({ method, path }) as Request;
    expect(timeoutFor(req('POST', '/api/admin/videos/'), 30, routes)).to.equal(3600);
    expect(timeoutFor(req('POST', '/api/admin/videos'), 30, routes)).to.equal(3600);
    expect(timeoutFor(req('GET', '/api/admin/videos/'), 30, routes)).to.equal(30);
    expect(timeoutFor(req('POST', '/api/admin/videos/1/'), 30, routes)).to.equal(30);
    expect(timeoutFor(req('POST', '/api/login/'), 30, routes)).to.equal(30);
  });
});
