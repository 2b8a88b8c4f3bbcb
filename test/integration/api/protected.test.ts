/**
 * Authentication of protected routes: the access cookie or a Bearer header; signature, algorithm,
 * type and expiry checked; JSON 401s; staff-only routes answer 403 to others.
 */
import { expect } from 'chai';
import { Router } from 'express';
import jwt from 'jsonwebtoken';
import supertest from 'supertest';
import { createApp } from '../../../api/app.js';
import { createLogger } from '../../../common/logging/index.js';
import { testConfig, type TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { activeUser, loginUser } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

describe('api: authentication of protected routes', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('protected', {}, (e) => ({ db, t } = e));

  const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

  it('accepts the access_token cookie and an Authorization: Bearer header', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const viaCookie = await t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`).expect(200);
    expect(viaCookie.body).to.deep.equal({ id: u.id, email: u.email, is_staff: false });
    await supertest(t.app).get('/api/me/').set('Authorization', `Bearer ${s.access}`).expect(200);
  });

  it('answers a JSON 401 without credentials', async function () {
    const res = await t.agent().get('/api/me/').expect(401);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.body).to.deep.equal({ detail: 'Authentication credentials were not provided.' });
  });

  it('refuses expired, tampered, wrong-key, wrong-algorithm, refresh-type and garbage tokens (401)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const c = claimsOf(s.access);
    const now = Math.floor(Date.now() / 1000);
    const secret = t.config.JWT_SECRET;
    const bad = {
      expired: jwt.sign({ ...c, iat: now - 120, exp: now - 60 }, secret, { algorithm: 'HS256' }),
      tampered: `${s.access.split('.')[0]}.${Buffer.from(JSON.stringify({ ...c, sub: '999' })).toString('base64url')}.${s.access.split('.')[2]}`,
      wrongKey: jwt.sign(c, 'x'.repeat(48), { algorithm: 'HS256' }),
      hs512: jwt.sign(c, secret, { algorithm: 'HS512' }),
      none: `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${s.access.split('.')[1]}.`,
      refreshType: s.refresh,
      wrongAudience: jwt.sign({ ...c, aud: 'someone-else' }, secret, { algorithm: 'HS256' }),
      garbage: 'abc.def.ghi',
    };
    for (const [name, token] of Object.entries(bad)) {
      const res = await t.agent().get('/api/me/').set('Cookie', `access_token=${token}`);
      expect(res.status, name).to.equal(401);
      expect(res.body, name).to.deep.equal({ detail: 'Given token not valid for any token type' });
      const res2 = await supertest(t.app).get('/api/me/').set('Authorization', `Bearer ${token}`);
      expect(res2.status, `${name} (bearer)`).to.equal(401);
    }
  });

  it('refuses the access token of a deactivated account', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    await db.models.User.update({ isActive: false }, { where: { id: u.id } });
    await t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`).expect(401);
  });

  describe('staff-only routes', function () {
    let app: ReturnType<typeof createApp>;
    before(function () {
      app = createApp({
        config: testConfig(db),
        sequelize: db.sequelize,
        models: db.models,
        mailer: t.mailer,
        logger: createLogger('api-test', { level: 'silent' }),
        routers: [
          ({ auth }) => {
            const r = Router();
            r.get('/staff-probe/', ...auth.requireStaff, (req, res) => {
              res.json({ id: req.user!.id });
            });
            return r;
          },
        ],
      });
    });

    it('answers 403 to a signed-in non-staff user, 401 to nobody, 200 to staff', async function () {
      const u = await activeUser(t);
      const s = await loginUser(t, u);
      await supertest(app).get('/api/staff-probe/').expect(401);
      const res = await supertest(app)
        .get('/api/staff-probe/')
        .set('Cookie', `access_token=${s.access}`)
        .expect(403);
      expect(res.body).to.deep.equal({ detail: 'You do not have permission to perform this action.' });
      await db.models.User.update({ isStaff: true }, { where: { id: u.id } });
      // a change of staff status ends the sessions opened before it (issue 21): sign in again
      await supertest(app).get('/api/staff-probe/').set('Cookie', `access_token=${s.access}`).expect(401);
      const staff = await loginUser(t, u);
      await supertest(app)
        .get('/api/staff-probe/')
        .set('Cookie', `access_token=${staff.access}`)
        .expect(200, { id: u.id });
    });
  });

  it('answers unknown paths with a JSON 404 and wrong methods with a JSON 405', async function () {
    const res = await t.agent().get('/api/nothing-here/').expect(404);
    expect(res.body).to.deep.equal({ detail: 'Not found.' });
    const wrong = await t.agent().get('/api/login/').expect(405);
    expect(wrong.body).to.deep.equal({ detail: 'Method "GET" not allowed.' });
    expect(wrong.headers.allow).to.equal('POST, OPTIONS');
    await t.agent().delete('/api/register/').expect(405);
    await t.agent().post('/api/me/').expect(405);
  });
});
