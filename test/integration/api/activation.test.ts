/** GET /api/activate/<uidb64>/<token>/: once, unexpired, untampered. */
import { expect } from 'chai';
import type { TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { registerUser } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

const FAILED = { message: 'Activation failed.', detail: 'Activation failed.' };

describe('api: GET /api/activate/<uidb64>/<token>/', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('activation', {}, (e) => ({ db, t } = e));

  const isActive = async (id: number) => (await db.models.User.findByPk(id))!.isActive;

  it('activates the account (200, the original message)', async function () {
    const u = await registerUser(t);
    const res = await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(200);
    expect(res.body).to.deep.equal({ message: 'Account successfully activated.' });
    expect(await isActive(u.id)).to.equal(true);
    expect((await db.models.User.findByPk(u.id))!.activatedAt).to.be.instanceOf(Date);
  });

  it('works once: a replayed link gets 400', async function () {
    const u = await registerUser(t);
    await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(200);
    const res = await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(400);
    expect(res.body).to.deep.equal(FAILED);
  });

  it('refuses a tampered token (400) and leaves the account inactive', async function () {
    const u = await registerUser(t);
    const last = u.token.at(-1) === 'A' ? 'B' : 'A';
    await t
      .agent()
      .get(`/api/activate/${u.uid}/${u.token.slice(0, -1)}${last}/`)
      .expect(400, FAILED);
    await t.agent().get(`/api/activate/${u.uid}/not-a-token/`).expect(400, FAILED);
    expect(await isActive(u.id)).to.equal(false);
  });

  it("refuses another user's token and unknown or malformed uids (400)", async function () {
    const a = await registerUser(t);
    const b = await registerUser(t);
    await t.agent().get(`/api/activate/${b.uid}/${a.token}/`).expect(400, FAILED);
    await t
      .agent()
      .get(`/api/activate/${Buffer.from('999999').toString('base64url')}/${a.token}/`)
      .expect(400, FAILED);
    await t.agent().get(`/api/activate/invalid-uid/${a.token}/`).expect(400, FAILED);
    await t
      .agent()
      .get(`/api/activate/${Buffer.from('99999999999999999999').toString('base64url')}/${a.token}/`)
      .expect(400, FAILED);
    expect(await isActive(a.id)).to.equal(false);
    expect(await isActive(b.id)).to.equal(false);
  });

  it('refuses an expired token (past ACTIVATION_TOKEN_TTL)', async function () {
    const u = await registerUser(t);
    t.clock.offsetMs = (t.config.ACTIVATION_TOKEN_TTL + 60) * 1000;
    await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(400, FAILED);
    t.clock.offsetMs = (t.config.ACTIVATION_TOKEN_TTL - 60) * 1000;
    await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(200);
  });

  it('activates exactly once under concurrent use of the same link', async function () {
    const u = await registerUser(t);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => t.agent().get(`/api/activate/${u.uid}/${u.token}/`)),
    );
    expect(results.map((r) => r.status).sort()).to.deep.equal([200, 400, 400, 400, 400]);
  });
});
