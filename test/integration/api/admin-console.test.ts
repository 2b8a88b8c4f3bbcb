/** The admin console is served by the real app (createApp) at /admin/, with its own CSP; the API keeps helmet's. */
import { expect } from 'chai';
import supertest from 'supertest';
import { ADMIN_CONSOLE_CSP } from '../../../api/routes/admin-console/index.js';
import type { TestApp } from './helpers/app.js';
import { useTestApp } from './helpers/setup.js';

describe('api: the admin console at /admin/', function () {
  let t: TestApp;
  useTestApp('admin_console', {}, (e) => ({ t } = e));

  it('serves the page, its script, its style and hls.js with the console CSP', async function () {
    const page = await supertest(t.app)
      .get('/admin/')
      .expect(200)
      .expect('Content-Type', 'text/html; charset=utf-8');
    expect(page.text).to.include('<title>Videoflix admin</title>');
    expect(page.headers['content-security-policy']).to.equal(ADMIN_CONSOLE_CSP);
    expect(page.headers['x-content-type-options']).to.equal('nosniff'); // helmet still runs first
    await supertest(t.app)
      .get('/admin/app.js')
      .expect(200)
      .expect('Content-Type', /^text\/javascript/);
    await supertest(t.app)
      .get('/admin/style.css')
      .expect(200)
      .expect('Content-Type', /^text\/css/);
    await supertest(t.app)
      .get('/admin/vendor/hls.min.js')
      .expect(200)
      .expect('Content-Type', /^text\/javascript/);
    await supertest(t.app).get('/admin').expect(301).expect('Location', '/admin/');
  });

  it("leaves the API's own answers and 404s as they were", async function () {
    const api = await supertest(t.app).get('/api/me/').expect(401);
    expect(api.headers['content-security-policy']).to.not.equal(ADMIN_CONSOLE_CSP);
    const missing = await supertest(t.app).get('/admin/nothing-here').expect(404);
    expect(missing.body).to.deep.equal({ detail: 'Not found.' });
  });

  it('lets the console sign in the way it does: same-origin POST /api/login/ with its Origin', async function () {
    const res = await supertest(t.app)
      .post('/api/login/')
      .set('Origin', 'http://127.0.0.1:8080')
      .set('Host', '127.0.0.1:8080')
      .send({ email: 'nobody@example.test', password: 'not-a-real-password' });
    // the CSRF check lets the same origin through: the answer is the login's own (bad credentials), not a 403
    expect(res.status).to.equal(400);
  });
});
