/** POST /api/logout/: ends the session server-side and deletes both cookies. */
import { expect } from 'chai';
import type { TestApp } from './helpers/app.js';
import { parseSetCookies } from './helpers/cookies.js';
import type { TestDatabase } from './helpers/db.js';
import { activeUser, loginUser } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

describe('api: POST /api/logout/', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('logout', {}, (e) => ({ db, t } = e));

  const logout = (cookies: string) => t.agent().post('/api/logout/').set('Cookie', cookies);

  it('revokes the session, deletes both cookies (same paths), and the tokens stop working', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const res = await logout(`access_token=${s.access}; refresh_token=${s.refresh}`).expect(200);
    expect(res.body).to.deep.equal({
      detail: 'Logout successful! All tokens will be deleted. Refresh token is now invalid.',
    });
    const c = parseSetCookies(res.headers['set-cookie']);
    expect(c.get('access_token')!.attributes.path).to.equal('/');
    expect(c.get('refresh_token')!.attributes.path).to.equal('/api/');
    for (const name of ['access_token', 'refresh_token']) {
      expect(Date.parse(String(c.get(name)!.attributes.expires))).to.be.lessThan(Date.now());
    }
    await t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${s.refresh}`).expect(401);
    await t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`).expect(401);
    const session = await db.models.AuthSession.findOne({ where: { userId: u.id } });
    expect(session!.revokeReason).to.equal('logout');
  });

  it('answers 400 without a refresh cookie', async function () {
    await t.agent().post('/api/logout/').expect(400, { detail: 'Refresh token missing.' });
  });

  it('answers 401 to a replayed logout and to a garbage token, still clearing cookies', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    await logout(`refresh_token=${s.refresh}`).expect(200);
    const again = await logout(`refresh_token=${s.refresh}`).expect(401, {
      detail: 'Invalid refresh token.',
    });
    expect(parseSetCookies(again.headers['set-cookie']).get('refresh_token')!.value).to.equal('');
    await logout('refresh_token=not.a.jwt').expect(401);
  });

  it('refuses a cookie-authenticated logout from a foreign origin or without any origin (CSRF)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    await logout(`refresh_token=${s.refresh}`).set('Origin', 'https://evil.example').expect(403);
    const supertest = (await import('supertest')).default;
    await supertest(t.app).post('/api/logout/').set('Cookie', `refresh_token=${s.refresh}`).expect(403);
    // a same-origin browser request (the API's own origin) passes
    await supertest(t.app)
      .post('/api/logout/')
      .set('Host', 'api.test')
      .set('Origin', 'http://api.test')
      .set('Cookie', `refresh_token=${s.refresh}`)
      .expect(200);
  });

  it('logs out one session only: another login of the same user keeps working', async function () {
    const u = await activeUser(t);
    const a = await loginUser(t, u);
    const b = await loginUser(t, u);
    await logout(`refresh_token=${a.refresh}`).expect(200);
    await t.agent().get('/api/me/').set('Cookie', `access_token=${b.access}`).expect(200);
  });
});
