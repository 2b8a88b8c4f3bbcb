/**
 * Attacks on the rate limits (issue 21, item 5), against the real API on real PostgreSQL:
 * - spreading guesses over API replicas, or waiting for a restart, buys no extra budget (the
 *   counters live in the `rate_limits` table);
 * - hammering an account does not lock its owner out: the owner, from another address, still signs
 *   in with the right password (after the per-account slow-down), while the attacker's address is
 *   refused;
 * - concurrent guesses cannot overrun a budget;
 * - activation, refresh and reset confirmation have budgets of their own;
 * - a store outage never answers 500: sign-in falls back to a per-process counter, the mail routes
 *   answer 503.
 * Client addresses are set with X-Forwarded-For (the test client is a trusted proxy, as the ingress
 * is in a cluster), one range per test: every app of this file counts in the same database.
 */
import { expect } from 'chai';
import { QueryTypes } from 'sequelize';
import supertest from 'supertest';
import type { Express } from 'express';
import { createLogger } from '../../../../common/logging/index.js';
import { createApp } from '../../../../api/app.js';
import { createSequelize } from '../../../../api/infra/db.js';
import { accountKey, slowdownMs } from '../../../../api/middleware/rate-limit.js';
import { waitFor } from '../../../support/waiters.js';
import { buildTestApp, FRONTEND, GOOD_PASSWORD, smtpEnv, uniqueEmail, type TestApp } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { freePort, startCommand } from '../helpers/process.js';
import { activeUser, registerUser } from '../helpers/users.js';

const THROTTLED = /^Request was throttled\. Expected available in (\d+) seconds\.$/;
const WRONG = 'not-the-password-at-all';

/** The 429 of the original contract: `{"detail": ...}` only, Retry-After equal to the seconds it names. */
function expectThrottled(res: { status: number; body: unknown; headers: Record<string, string> }) {
  expect(res.status, JSON.stringify(res.body)).to.equal(429);
  expect(Object.keys(res.body as object)).to.deep.equal(['detail']);
  const m = THROTTLED.exec((res.body as { detail: string }).detail);
  expect(m, JSON.stringify(res.body)).to.not.equal(null);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).to.be.greaterThan(0);
  expect(retryAfter).to.equal(Number(m![1]));
  expect(res.headers['set-cookie']).to.equal(undefined);
}

describe('security: rate limits hold across replicas and restarts, and lock no owner out', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let t: TestApp;
  const apps: TestApp[] = [];
  const build = (overrides: Record<string, string>) => {
    const a = buildTestApp(db, overrides);
    apps.push(a);
    return a;
  };
  const from = (a: TestApp, ip: string) => a.agent().set('X-Forwarded-For', ip);
  const login = (a: TestApp, ip: string, email: string, password: string) =>
    from(a, ip).post('/api/login/').send({ email, password });

  before(async function () {
    db = await freshDatabase('sec_rate_limits');
    t = build({});
  });
  after(async function () {
    for (const a of apps) a.mailer.close();
    await db?.drop();
  });

  it('two API instances on one database share the failed sign-in budget of an (account, address)', async function () {
    const limits = { RATE_LIMIT_LOGIN_MAX: '3' };
    const a = build(limits);
    const b = build(limits);
    const u = await activeUser(t);
    const ip = '203.0.113.1';
    // three failures spread over both replicas spend the budget of three
    await login(a, ip, u.email, WRONG).expect(400);
    await login(b, ip, u.email, WRONG).expect(400);
    await login(a, ip, u.email, WRONG).expect(400);
    for (const replica of [a, b]) {
      // the right password from the attacker's address is refused too: the address is out of guesses
      expectThrottled(await login(replica, ip, u.email, u.password));
    }
    const row = await db.sequelize.query<{ key: string; points: number }>(
      `SELECT key, points FROM rate_limits WHERE key LIKE 'login-account-ip:%' AND key LIKE '%${ip}'`,
      { type: QueryTypes.SELECT },
    );
    expect(row).to.have.length(1);
    expect(row[0]!.key).to.not.contain(u.email); // the account is a hash, never the address in clear
  });

  it('a restarted API process still knows the count', async function () {
    this.timeout(240_000);
    const u = await activeUser(t);
    const ip = '203.0.113.2';
    const env = {
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_LOGIN_MAX: '2',
      ...smtpEnv(),
    };
    const start = async () => {
      const port = await freePort();
      const proc = startCommand('api/main.ts', [], { ...env, PORT: String(port) });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        timeoutMs: 120_000,
        what: `main.ts ready on ${port}; output: ${proc.output()}`,
      });
      const post = (password: string) =>
        fetch(`http://127.0.0.1:${port}/api/login/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({ email: u.email, password }),
        });
      return { proc, post };
    };
    const first = await start();
    try {
      expect((await first.post(WRONG)).status).to.equal(400);
      expect((await first.post(WRONG)).status).to.equal(400);
    } finally {
      first.proc.child.kill('SIGTERM');
    }
    const exited = await first.proc.done;
    expect(exited.code, exited.stderr).to.equal(0);
    const second = await start();
    try {
      const res = await second.post(u.password);
      expect(res.status).to.equal(429);
      expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
      expect(await res.json()).to.have.keys('detail');
    } finally {
      second.proc.child.kill('SIGTERM');
      await second.proc.done;
    }
  });

  it('a stranger hammering an account from many addresses does not lock the owner out: slower, not refused', async function () {
    const slowdown = {
      RATE_LIMIT_LOGIN_MAX: '3',
      RATE_LIMIT_LOGIN_SLOWDOWN_AFTER: '4',
      RATE_LIMIT_LOGIN_SLOWDOWN_BASE_MS: '100',
      RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS: '1500',
    };
    const api = build(slowdown);
    const owner = await activeUser(t);
    // three addresses, each until it is refused: 9 failures of the account
    for (const ip of ['203.0.113.31', '203.0.113.32', '203.0.113.33']) {
      for (let i = 0; i < 3; i++) await login(api, ip, owner.email, WRONG).expect(400);
      expectThrottled(await login(api, ip, owner.email, WRONG));
      expectThrottled(await login(api, ip, owner.email, owner.password));
    }
    // each failure made the next sign-in of the account wait longer: the owner waits the longest, once
    const expected = slowdownMs(9, {
      after: 4,
      baseMs: 100,
      maxMs: 1500,
    });
    expect(expected).to.equal(1500); // 100·2⁵ capped
    const t0 = performance.now();
    const res = await login(api, '198.51.100.30', owner.email, owner.password);
    const took = performance.now() - t0;
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.equal({
      detail: 'Login successful',
      user: { id: owner.id, username: owner.email },
    });
    expect(took).to.be.at.least(expected - 5);
    // a wrong guess from a new address waits just as long (the wait says nothing about the password)
    const t1 = performance.now();
    await login(api, '198.51.100.31', owner.email, WRONG).expect(400);
    expect(performance.now() - t1).to.be.at.least(expected - 5);
    // another account is not slowed down by it: it has no failure count at all
    const other = await activeUser(t);
    await login(api, '198.51.100.30', other.email, other.password).expect(200);
    const counts = await db.sequelize.query<{ points: number }>(
      `SELECT points FROM rate_limits WHERE key = :key`,
      { type: QueryTypes.SELECT, replacements: { key: `login-account:${accountKey(other.email)}` } },
    );
    expect(counts).to.deep.equal([]);
    const owners = await db.sequelize.query<{ points: number }>(
      `SELECT points FROM rate_limits WHERE key = :key`,
      { type: QueryTypes.SELECT, replacements: { key: `login-account:${accountKey(owner.email)}` } },
    );
    expect(owners).to.deep.equal([{ points: 10 }]);
  });

  it('limits failed sign-ins per address across accounts (credential stuffing), unknown accounts included', async function () {
    const api = build({ RATE_LIMIT_LOGIN_IP_MAX: '4' });
    const ip = '203.0.113.4';
    for (let i = 0; i < 4; i++) await login(api, ip, uniqueEmail('stuffed'), GOOD_PASSWORD).expect(400);
    const u = await activeUser(t);
    expectThrottled(await login(api, ip, u.email, u.password));
    // other addresses are not affected
    await login(api, '198.51.100.4', u.email, u.password).expect(200);
  });

  it('concurrent guesses cannot overrun the budget', async function () {
    const api = build({ RATE_LIMIT_LOGIN_MAX: '3' });
    const u = await activeUser(t);
    const ip = '203.0.113.5';
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => login(api, ip, u.email, WRONG).then((r) => r.status)),
    );
    expect(answers.filter((s) => s === 400)).to.have.length(3);
    expect(answers.filter((s) => s === 429)).to.have.length(9);
  });

  it('successful sign-ins give their point back, so a shared address is not starved by its own users', async function () {
    const api = build({ RATE_LIMIT_LOGIN_MAX: '2', RATE_LIMIT_LOGIN_IP_MAX: '3' });
    const u = await activeUser(t);
    const ip = '203.0.113.6';
    for (let i = 0; i < 6; i++) await login(api, ip, u.email, u.password).expect(200);
    // one typo, then the right password: the success clears the (account, address) count (the
    // address's own count of failures, over all accounts, stays: 2 of 3 after this)
    await login(api, ip, u.email, WRONG).expect(400);
    await login(api, ip, u.email, u.password).expect(200);
    await login(api, ip, u.email, WRONG).expect(400);
    await login(api, ip, u.email, u.password).expect(200);
  });

  it('activation, refresh and reset confirmation each have a budget of their own', async function () {
    const api = build({
      RATE_LIMIT_ACTIVATION_MAX: '2',
      RATE_LIMIT_REFRESH_MAX: '3',
      RATE_LIMIT_PASSWORD_CONFIRM_MAX: '4',
    });
    const ip = '203.0.113.7';
    const pending = await registerUser(t);
    const badActivation = `/api/activate/${pending.uid}/0-${'a'.repeat(40)}/`;
    const badConfirm = `/api/password_confirm/${pending.uid}/0-${'b'.repeat(40)}/`;
    const body = { new_password: GOOD_PASSWORD, confirm_password: GOOD_PASSWORD };
    const refreshWith = (cookie: string) =>
      from(api, ip).post('/api/token/refresh/').set('Cookie', `refresh_token=${cookie}`);

    for (let i = 0; i < 2; i++) await from(api, ip).get(badActivation).expect(400);
    expectThrottled(await from(api, ip).get(badActivation));
    // the activation budget is spent; refresh and confirmation still have theirs
    for (let i = 0; i < 3; i++) await refreshWith('forged.refresh.token').expect(401);
    expectThrottled(await refreshWith('forged.refresh.token'));
    for (let i = 0; i < 4; i++) await from(api, ip).post(badConfirm).send(body).expect(400);
    expectThrottled(await from(api, ip).post(badConfirm).send(body));
    // and a spent budget refuses the right token from that address as well (no oracle left)
    expectThrottled(await from(api, ip).get(`/api/activate/${pending.uid}/${pending.token}/`));
    // from another address the same link still works, and successes cost nothing
    const other = '198.51.100.7';
    await from(api, other).get(badActivation).expect(400);
    await from(api, other).get(`/api/activate/${pending.uid}/${pending.token}/`).expect(200);
    await from(api, other).get(badActivation).expect(400);
    expectThrottled(await from(api, other).get(badActivation));
  });

  describe('when the rate-limit store is down', function () {
    let app: Express;
    let deadStore: ReturnType<typeof createSequelize>;

    before(async function () {
      // a real client of a PostgreSQL that is not there: every store call fails (ECONNREFUSED)
      deadStore = createSequelize({
        url: `postgres://nobody:x@127.0.0.1:${await freePort()}/none`,
        poolMax: 2,
      });
      const config = buildTestApp(db, { RATE_LIMIT_LOGIN_MAX: '2', RATE_LIMIT_REGISTER_MAX: '100' });
      apps.push(config);
      app = createApp({
        config: config.config,
        sequelize: db.sequelize,
        models: db.models,
        mailer: config.mailer,
        logger: createLogger('rate-limit-outage', { level: 'silent' }),
        rateLimitStore: deadStore,
      }) as Express;
    });
    after(async function () {
      await deadStore?.close();
    });

    it('sign-in keeps working, limited per process; the mail routes answer 503 with Retry-After; never 500', async function () {
      const u = await activeUser(t);
      const ip = '203.0.113.8';
      const as = () => ({
        post: (path: string) => supertest(app).post(path).set('Origin', FRONTEND).set('X-Forwarded-For', ip),
      });
      await as().post('/api/login/').send({ email: u.email, password: u.password }).expect(200);
      await as().post('/api/login/').send({ email: u.email, password: WRONG }).expect(400);
      await as().post('/api/login/').send({ email: u.email, password: WRONG }).expect(400);
      expectThrottled(await as().post('/api/login/').send({ email: u.email, password: u.password }));

      for (const [path, payload] of [
        [
          '/api/register/',
          { email: uniqueEmail('outage'), password: GOOD_PASSWORD, confirmed_password: GOOD_PASSWORD },
        ],
        ['/api/password_reset/', { email: u.email }],
      ] as const) {
        const res = await as().post(path).send(payload);
        expect(res.status, `${path}: ${JSON.stringify(res.body)}`).to.equal(503);
        expect(res.body).to.deep.equal({ detail: 'Service temporarily unavailable, try again later.' });
        expect(res.headers['retry-after']).to.equal('30');
      }
      const refresh = await as().post('/api/token/refresh/').set('Cookie', 'refresh_token=forged');
      expect(refresh.status).to.equal(401);
    });
  });
});
