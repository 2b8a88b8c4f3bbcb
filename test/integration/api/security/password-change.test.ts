/**
 * Issue 21, finding 7: POST /api/password_change/ (ASVS 6.2.2, 6.2.3). The attacks: change a
 * victim's password with a stolen session but without the current password; drive the change
 * from a foreign site (CSRF); guess the current password through the endpoint; keep a stolen
 * session alive after the victim changed the password.
 */
import { expect } from 'chai';
import { waitForMail } from '../../../support/mail.js';
import { buildTestApp, GOOD_PASSWORD, type TestApp } from '../helpers/app.js';
import { parseSetCookies } from '../helpers/cookies.js';
import type { TestDatabase } from '../helpers/db.js';
import { activeUser, loginUser, type Session } from '../helpers/users.js';
import { useTestApp } from '../helpers/setup.js';

const NEW_PASSWORD = 'quiet-harbor-compass-91';

describe('security: password change (issue 21.7)', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('sec_password_change', {}, (e) => ({ db, t } = e));

  const change = (app: TestApp, s: Session, body: object) =>
    app
      .agent()
      .post('/api/password_change/')
      .set('Cookie', `access_token=${s.access}; refresh_token=${s.refresh}`)
      .send(body);
  const body = (oldPassword: string, next = NEW_PASSWORD) => ({
    old_password: oldPassword,
    new_password: next,
    confirm_password: next,
  });
  const me = (s: Session) => t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`);

  it('changes the password, ends every other session, and keeps this client signed in with new cookies', async function () {
    const u = await activeUser(t);
    const here = await loginUser(t, u);
    const thief = await loginUser(t, u); // another device (or a stolen session)
    const res = await change(t, here, body(u.password)).expect(200);
    expect(res.body).to.have.key('detail');
    const c = parseSetCookies(res.headers['set-cookie']);
    const renewed = { access: c.get('access_token')!.value, refresh: c.get('refresh_token')!.value };
    await me(renewed).expect(200);
    await me(thief).expect(401);
    await t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${thief.refresh}`).expect(401);
    await me(here).expect(401); // the old cookies of this client are replaced, not kept
    await t.agent().post('/api/login/').send({ email: u.email, password: u.password }).expect(400);
    await loginUser(t, { email: u.email, password: NEW_PASSWORD });
    const mail = await waitForMail({ to: u.email, subject: 'Your password was changed' });
    expect(mail.text).to.contain('every other device was signed out');
  });

  it('refuses without the right current password (400) and without a session (401)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const wrong = await change(t, s, body('not-the-password-1')).expect(400);
    expect(wrong.body).to.deep.equal({
      old_password: ['Your old password was entered incorrectly. Please enter it again.'],
    });
    await t.agent().post('/api/password_change/').send(body(u.password)).expect(401);
    await me(s).expect(200); // a refused change ends nothing
    await loginUser(t, u);
  });

  it('applies the registration rules to the new password (breached list, mismatch, same as old)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    // from the larger breached list (not in the former 18,000-entry list)
    let res = await change(t, s, body(u.password, 'maradona10')).expect(400);
    expect(res.body).to.deep.equal({ new_password: ['This password is too common.'] });
    res = await change(t, s, { ...body(u.password), confirm_password: 'other-thing-entirely-3' }).expect(400);
    expect(res.body).to.deep.equal({ confirm_password: ['Passwords do not match.'] });
    res = await change(t, s, body(u.password, u.password)).expect(400);
    expect(res.body.new_password).to.deep.equal(['The new password must differ from the old one.']);
    await me(s).expect(200);
  });

  it('refuses a change posted from a foreign origin (CSRF, 403)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    await change(t, s, body(u.password)).set('Origin', 'https://evil.example').expect(403);
    await loginUser(t, u); // unchanged
  });

  it('rate-limits wrong current passwords per account (429), so the endpoint is no guessing oracle', async function () {
    const limited = buildTestApp(db, { RATE_LIMIT_PASSWORD_CHANGE_MAX: '3' });
    try {
      const u = await activeUser(limited);
      const s = await loginUser(limited, u);
      // the budgets are counted in the file's database (shared with the tests above, which guessed
      // from 127.0.0.1 too): this test guesses from an address of its own (the client is a trusted proxy)
      const guess = (b: object) => change(limited, s, b).set('X-Forwarded-For', '198.51.100.77');
      for (let i = 0; i < 3; i++) await guess(body(`guess-number-${i}-xyz`)).expect(400);
      const res = await guess(body(GOOD_PASSWORD)).expect(429);
      expect(Number(res.headers['retry-after'])).to.be.greaterThan(0);
    } finally {
      limited.mailer.close();
    }
  });
});
