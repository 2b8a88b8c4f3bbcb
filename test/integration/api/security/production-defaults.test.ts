/**
 * Issue 21, findings 4 and 9: cookies are Secure unless plain HTTP is asked for explicitly (and, in
 * production, asked for twice); production trusts no development origin for CORS or the CSRF check.
 * The attacks: read the session cookie off a plain-HTTP request; drive a signed-in browser from a
 * page on http://localhost:4200 (any local process, or a developer's leftover frontend) against a
 * production API.
 */
import { expect } from 'chai';
import { buildTestApp, GOOD_PASSWORD, type TestApp } from '../helpers/app.js';
import { parseSetCookies } from '../helpers/cookies.js';
import type { TestDatabase } from '../helpers/db.js';
import { freePort, runCommand } from '../helpers/process.js';
import { useTestApp } from '../helpers/setup.js';
import { activeUser, loginUser } from '../helpers/users.js';

const PROD_FRONTEND = 'https://videoflix.example';
const DEV_ORIGIN = 'http://localhost:4200';

describe('security: production defaults for cookies and trusted origins (issue 21.4, 21.9)', function () {
  this.timeout(240_000);
  let db: TestDatabase;
  let t: TestApp;
  const apps: TestApp[] = [];

  useTestApp('sec_prod_defaults', {}, (e) => ({ db, t } = e));
  after(function () {
    for (const a of apps) a.mailer.close();
  });

  /** The API's own defaults: no AUTH_COOKIE_SECURE, no CORS origins, as a chart install gives it. */
  const production = () => {
    const app = buildTestApp(db, {
      NODE_ENV: 'production',
      BCRYPT_COST: '10',
      FRONTEND_URL: PROD_FRONTEND,
      AUTH_COOKIE_SECURE: undefined,
      CORS_ALLOWED_ORIGINS: undefined,
    });
    apps.push(app);
    return app;
  };

  it('sets both auth cookies Secure (and HttpOnly) by default', async function () {
    const u = await activeUser(t);
    const res = await buildTestApp(db, { AUTH_COOKIE_SECURE: undefined })
      .agent()
      .post('/api/login/')
      .send({ email: u.email, password: u.password })
      .expect(200);
    const c = parseSetCookies(res.headers['set-cookie']);
    for (const name of ['access_token', 'refresh_token']) {
      expect(c.get(name)!.attributes.secure, name).to.equal(true);
      expect(c.get(name)!.attributes.httponly, name).to.equal(true);
    }
  });

  it('main.ts refuses to start in production with insecure cookies, without FRONTEND_URL or with BCRYPT_COST below 10 (exit 78)', async function () {
    const env = {
      DATABASE_URL: db.url,
      NODE_ENV: 'production',
      JWT_SECRET: 'k3J9x!vQ2mZ8pL0rT6wY4nB1cF5hD7sA-extra-production',
      FRONTEND_URL: PROD_FRONTEND,
      PORT: String(await freePort()),
      AUTH_COOKIE_SECURE: 'false',
    };
    const ran = await runCommand('api/main.ts', [], env);
    expect(ran.code).to.equal(78);
    expect(ran.stderr).to.contain('AUTH_COOKIE_SECURE: false is refused when NODE_ENV=production');
    // one start (tsx is slow on a loaded machine) for the other production refusals: all are listed
    const { FRONTEND_URL: _, ...noFrontend } = env;
    const more = await runCommand('api/main.ts', [], { ...noFrontend, BCRYPT_COST: '9' });
    expect(more.code).to.equal(78);
    expect(more.stderr)
      .to.contain('FRONTEND_URL: required when NODE_ENV=production')
      .and.contain('BCRYPT_COST: at least 10')
      .and.contain('AUTH_COOKIE_SECURE: false is refused');
  });

  it('in production, refuses unsafe requests from http://localhost:4200 (CSRF) and gives it no CORS', async function () {
    const p = production();
    const u = await activeUser(t);
    const fromDev = await p
      .agent()
      .post('/api/login/')
      .set('Origin', DEV_ORIGIN)
      .send({ email: u.email, password: u.password })
      .expect(403);
    expect(fromDev.body.detail).to.match(/^CSRF Failed: Origin checking failed/);
    const preflight = await p
      .agent()
      .options('/api/login/')
      .set('Origin', DEV_ORIGIN)
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).to.equal(undefined);
    // a signed-in session cannot be driven from there either
    const s = await loginUser(t, u);
    await p
      .agent()
      .post('/api/logout/')
      .set('Origin', DEV_ORIGIN)
      .set('Cookie', `refresh_token=${s.refresh}`)
      .expect(403);
    // the configured frontend works
    await p
      .agent()
      .post('/api/login/')
      .set('Origin', PROD_FRONTEND)
      .send({ email: u.email, password: GOOD_PASSWORD })
      .expect(200);
  });

  it('outside production the development origin stays trusted by default (make dev, tests)', async function () {
    const dev = buildTestApp(db, {
      NODE_ENV: 'development',
      FRONTEND_URL: undefined,
      CORS_ALLOWED_ORIGINS: undefined,
    });
    apps.push(dev);
    const u = await activeUser(t);
    const res = await dev
      .agent()
      .post('/api/login/')
      .set('Origin', DEV_ORIGIN)
      .send({ email: u.email, password: u.password })
      .expect(200);
    expect(res.headers['access-control-allow-origin']).to.equal(DEV_ORIGIN);
  });
});
