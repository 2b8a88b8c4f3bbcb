/**
 * Issue 21, finding 1: registration handed out the activation credential, so anyone could register
 * and activate an address they do not own. The attack: register a victim's address, activate it
 * with the `token` of the answer, sign in.
 */
import { expect } from 'chai';
import { buildTestApp, GOOD_PASSWORD, uniqueEmail, type TestApp } from '../helpers/app.js';
import type { TestDatabase } from '../helpers/db.js';
import { mailedLink } from '../helpers/users.js';
import { useTestApp } from '../helpers/setup.js';

describe('security: the registration answer activates nothing (issue 21.1)', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('sec_register_token', {}, (e) => ({ db, t } = e));

  const register = (app: TestApp, email: string) =>
    app
      .agent()
      .post('/api/register/')
      .send({ email, password: GOOD_PASSWORD, confirmed_password: GOOD_PASSWORD })
      .expect(201);

  it('refuses the answered token at /api/activate/ and leaves the account inactive; the mailed link works', async function () {
    const victim = uniqueEmail('victim');
    const res = await register(t, victim);
    expect(res.body).to.have.all.keys('user', 'token'); // the shape the frontend reads
    expect(res.body.token).to.match(/^[A-Za-z0-9_-]{43}$/);
    const uid = Buffer.from(String(res.body.user.id)).toString('base64url');
    await t
      .agent()
      .get(`/api/activate/${uid}/${res.body.token}/`)
      .expect(400, { message: 'Activation failed.', detail: 'Activation failed.' });
    await t.agent().post('/api/login/').send({ email: victim, password: GOOD_PASSWORD }).expect(400);
    expect((await db.models.User.findByPk(res.body.user.id))!.isActive).to.equal(false);
    // the owner of the mailbox can
    const link = await mailedLink(victim);
    expect(link.token).to.not.equal(res.body.token);
    await t.agent().get(`/api/activate/${link.uid}/${link.token}/`).expect(200);
  });

  it('answers a different random value each time (nothing derivable from it)', async function () {
    const a = await register(t, uniqueEmail('a'));
    const b = await register(t, uniqueEmail('b'));
    expect(a.body.token).to.not.equal(b.body.token);
  });

  it('with REGISTER_RETURNS_ACTIVATION_TOKEN=true, answers the real token again (the original, opt-in)', async function () {
    const legacy = buildTestApp(db, { REGISTER_RETURNS_ACTIVATION_TOKEN: 'true' });
    try {
      const email = uniqueEmail('legacy');
      const res = await register(legacy, email);
      const link = await mailedLink(email);
      expect(res.body.token).to.equal(link.token);
      const uid = Buffer.from(String(res.body.user.id)).toString('base64url');
      await legacy.agent().get(`/api/activate/${uid}/${res.body.token}/`).expect(200);
    } finally {
      legacy.mailer.close();
    }
  });
});
