/** POST /api/login/: cookies, one answer for every failure, equal time, rate limit, CSRF. */
import { expect } from 'chai';
import { buildTestApp, GOOD_PASSWORD, uniqueEmail, type TestApp } from './helpers/app.js';
import { parseSetCookies } from './helpers/cookies.js';
import type { TestDatabase } from './helpers/db.js';
import { activeUser, loginUser, registerUser } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

const REFUSED = { detail: 'Invalid email or password.' };

describe('api: POST /api/login/', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('login', {}, (e) => ({ db, t } = e));

  it('logs in an active user: original body, HttpOnly cookies with deliberate paths and lifetimes', async function () {
    const u = await activeUser(t);
    const res = await t
      .agent()
      .post('/api/login/')
      .send({ email: u.email, password: u.password })
      .expect(200);
    expect(res.body).to.deep.equal({ detail: 'Login successful', user: { id: u.id, username: u.email } });
    const c = parseSetCookies(res.headers['set-cookie']);
    const access = c.get('access_token')!;
    const refresh = c.get('refresh_token')!;
    for (const cookie of [access, refresh]) {
      expect(cookie.attributes.httponly).to.equal(true);
      expect(cookie.attributes.samesite).to.equal('Lax');
      expect(cookie.attributes.secure).to.equal(undefined); // AUTH_COOKIE_SECURE=false in tests
    }
    expect(access.attributes.path).to.equal('/');
    expect(refresh.attributes.path).to.equal('/api/');
    const accessLife = (Date.parse(String(access.attributes.expires)) - Date.now()) / 1000;
    expect(accessLife).to.be.within(t.config.ACCESS_TOKEN_TTL - 10, t.config.ACCESS_TOKEN_TTL + 1);
    const [, payload] = access.value.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims).to.include({ typ: 'access', sub: String(u.id) });
    expect((await db.models.User.findByPk(u.id))!.lastLoginAt).to.be.instanceOf(Date);
  });

  it('accepts the email in another case', async function () {
    const u = await activeUser(t);
    await t
      .agent()
      .post('/api/login/')
      .send({ email: u.email.toUpperCase(), password: u.password })
      .expect(200);
  });

  it('starts a new session on every login', async function () {
    const u = await activeUser(t);
    const a = await loginUser(t, u);
    const b = await loginUser(t, u);
    const sid = (jwt: string) =>
      JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).sid as string;
    expect(sid(a.refresh)).to.not.equal(sid(b.refresh));
    expect(await db.models.AuthSession.count({ where: { userId: u.id } })).to.equal(2);
  });

  it('gives unknown email, wrong password and inactive account the same 400 answer and no cookies', async function () {
    const active = await activeUser(t);
    const inactive = await registerUser(t);
    const attempts = [
      { email: uniqueEmail('nobody'), password: GOOD_PASSWORD },
      { email: active.email, password: `${GOOD_PASSWORD}-wrong` },
      { email: inactive.email, password: inactive.password },
    ];
    for (const a of attempts) {
      const res = await t.agent().post('/api/login/').send(a).expect(400);
      expect(res.body).to.deep.equal(REFUSED);
      expect(res.headers['set-cookie']).to.equal(undefined);
    }
  });

  it('answers field errors for missing or malformed fields', async function () {
    const res = await t.agent().post('/api/login/').send({}).expect(400);
    expect(res.body).to.deep.equal({
      email: ['This field is required.'],
      password: ['This field is required.'],
    });
    const res2 = await t.agent().post('/api/login/').send({ email: 'nope', password: '' }).expect(400);
    expect(res2.body).to.deep.equal({
      email: ['Enter a valid email address.'],
      password: ['This field may not be blank.'],
    });
  });

  it('takes about the same time for an unknown email, a wrong password and an inactive account', async function () {
    this.timeout(60_000);
    // a real cost, so that skipping bcrypt would show
    const slow = buildTestApp(db, { BCRYPT_COST: '10' });
    const active = await activeUser(slow);
    const inactive = await registerUser(slow);
    const cases = {
      unknown: { email: uniqueEmail('ghost'), password: GOOD_PASSWORD },
      wrong: { email: active.email, password: `${GOOD_PASSWORD}!` },
      inactive: { email: inactive.email, password: inactive.password },
    };
    // interleaved rounds, so that load from elsewhere on the machine hits every case alike
    const times: Record<keyof typeof cases, number[]> = { unknown: [], wrong: [], inactive: [] };
    for (let round = 0; round < 7; round++) {
      for (const name of Object.keys(cases) as Array<keyof typeof cases>) {
        const t0 = performance.now();
        await slow.agent().post('/api/login/').send(cases[name]).expect(400);
        times[name].push(performance.now() - t0);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = {
      unknown: median(times.unknown),
      wrong: median(times.wrong),
      inactive: median(times.inactive),
    };
    const max = Math.max(...Object.values(m));
    const min = Math.min(...Object.values(m));
    expect(min, JSON.stringify(m)).to.be.greaterThan(20); // bcrypt at cost 10 ran in every case
    expect(min / max, JSON.stringify(m)).to.be.greaterThan(0.5);
    slow.mailer.close();
  });

  it('rate-limits failed logins per account and per client address (429)', async function () {
    const limited = buildTestApp(db, { RATE_LIMIT_LOGIN_MAX: '3' });
    const u = await activeUser(limited);
    for (let i = 0; i < 3; i++) {
      await limited
        .agent()
        .post('/api/login/')
        .send({ email: u.email, password: 'wrong-password-1' })
        .expect(400);
    }
    const res = await limited
      .agent()
      .post('/api/login/')
      .send({ email: u.email, password: u.password })
      .expect(429);
    expect(res.body.detail).to.match(/^Request was throttled/);
    expect(res.headers['set-cookie']).to.equal(undefined);
    limited.mailer.close();
  });

  it('does not count successful logins towards the limit', async function () {
    const limited = buildTestApp(db, { RATE_LIMIT_LOGIN_MAX: '2' });
    const u = await activeUser(limited);
    for (let i = 0; i < 4; i++) await loginUser(limited, u);
    limited.mailer.close();
  });

  it('refuses a login posted from a foreign origin or referer (login CSRF, 403)', async function () {
    const u = await activeUser(t);
    await t.agent().post('/api/login/').set('Origin', 'https://evil.example').send(u).expect(403);
    await t.agent().post('/api/login/').set('Origin', 'null').send(u).expect(403);
    const viaReferer = t.agent().post('/api/login/').set('Origin', '');
    await viaReferer.unset('Origin').set('Referer', 'https://evil.example/page').send(u).expect(403);
  });

  it('accepts a non-browser client without Origin when it carries no cookies', async function () {
    const u = await activeUser(t);
    const supertest = (await import('supertest')).default;
    await supertest(t.app).post('/api/login/').send({ email: u.email, password: u.password }).expect(200);
  });
});
