/** /healthz, /readyz (database reachable), the OpenAPI document, CORS and security headers. */
import { expect } from 'chai';
import supertest from 'supertest';
import { createApp } from '../../../api/app.js';
import { createSequelize } from '../../../api/infra/db.js';
import { initModels } from '../../../api/models/index.js';
import { createLogger } from '../../../common/logging/index.js';
import { FRONTEND, testConfig, type TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { useTestApp } from './helpers/setup.js';

describe('api: health, readiness, OpenAPI and headers', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('health', {}, (e) => ({ db, t } = e));

  it('answers /healthz and /readyz when the database is reachable', async function () {
    await supertest(t.app).get('/healthz').expect(200, { status: 'ok' });
    await supertest(t.app)
      .get('/readyz')
      .expect(200, { status: 'ok', checks: { database: 'ok', schema: 'ok' } });
  });

  it('answers /readyz 503 when the database is unreachable, and while shutting down', async function () {
    const dead = createSequelize({ url: 'postgres://nobody:nothing@127.0.0.1:1/none' });
    const app = createApp({
      config: testConfig(db),
      sequelize: dead,
      models: initModels(dead),
      mailer: t.mailer,
      logger: createLogger('api-test', { level: 'silent' }),
    });
    const res = await supertest(app).get('/readyz').expect(503);
    expect(res.body.checks.database).to.equal('unreachable');
    await supertest(app).get('/healthz').expect(200);
    // requests needing the database get a clean 503, no stack, no SQL
    const login = await supertest(app)
      .post('/api/login/')
      .send({ email: 'someone@example.test', password: 'whatever-password' })
      .expect(503);
    expect(login.body).to.deep.equal({ detail: 'Service temporarily unavailable, try again later.' });
    await dead.close();
    t.app.locals.lifecycle.shuttingDown = true;
    await supertest(t.app).get('/readyz').expect(503);
    t.app.locals.lifecycle.shuttingDown = false;
  });

  it('serves an OpenAPI 3.1 document listing every account endpoint', async function () {
    const res = await supertest(t.app).get('/api/openapi.json').expect(200);
    expect(res.body.openapi).to.equal('3.1.0');
    expect(res.body.paths).to.include.keys(
      '/api/register/',
      '/api/activate/{uidb64}/{token}/',
      '/api/login/',
      '/api/logout/',
      '/api/token/refresh/',
      '/api/password_reset/',
      '/api/password_confirm/{uidb64}/{token}/',
      '/api/password_change/',
    );
    const change =
      res.body.paths['/api/password_change/'].post.requestBody.content['application/json'].schema;
    expect(change.required).to.have.members(['old_password', 'new_password', 'confirm_password']);
    expect(res.body.paths['/api/register/'].post.description).to.match(/only the mailed link activates/);
    const reg = res.body.paths['/api/register/'].post.requestBody.content['application/json'].schema;
    expect(reg.required).to.have.members(['email', 'password', 'confirmed_password']);
  });

  it('allows credentialed CORS for the configured origin only', async function () {
    const pre = await supertest(t.app)
      .options('/api/login/')
      .set('Origin', FRONTEND)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type')
      .expect(204);
    expect(pre.headers['access-control-allow-origin']).to.equal(FRONTEND);
    expect(pre.headers['access-control-allow-credentials']).to.equal('true');
    const evil = await supertest(t.app)
      .options('/api/login/')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(evil.headers['access-control-allow-origin']).to.equal(undefined);
  });

  it('sends security headers (helmet) and no X-Powered-By', async function () {
    const res = await supertest(t.app).get('/healthz');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['x-frame-options']).to.equal('SAMEORIGIN');
    expect(res.headers['content-security-policy']).to.be.a('string');
    expect(res.headers['x-powered-by']).to.equal(undefined);
  });
});
