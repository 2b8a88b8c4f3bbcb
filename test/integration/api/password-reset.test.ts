/** POST /api/password_reset/ and POST /api/password_confirm/<uidb64>/<token>/ through real mail. */
import { expect } from 'chai';
import { listMail, waitForMail } from '../../support/mail.js';
import { buildTestApp, FRONTEND, uniqueEmail, type TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { activeUser, loginUser, registerUser } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

const SENT = { detail: 'An email has been sent to reset your password.' };
const INVALID_LINK = { detail: 'Invalid reset link.' };
const NEW_PASSWORD = 'quiet-meadow-harbor-77';

describe('api: password reset', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('password_reset', {}, (e) => ({ db, t } = e));

  /** Requests a reset and returns uid and token from the mailed link. */
  async function requestLink(email: string): Promise<{ uid: string; token: string; link: string }> {
    const before = (await listMail({ to: email, subject: 'Reset your password' })).length;
    await t.agent().post('/api/password_reset/').send({ email }).expect(200, SENT);
    const mail = await waitForMail({ to: email, subject: 'Reset your password' });
    expect((await listMail({ to: email, subject: 'Reset your password' })).length).to.equal(before + 1);
    const link = /http:\/\/frontend\.test:4200\/reset-password\?uid=[^\s"<]+/.exec(mail.text ?? '')?.[0];
    expect(link, mail.text).to.be.a('string');
    const url = new URL(link!);
    expect(url.origin).to.equal(FRONTEND);
    return { uid: url.searchParams.get('uid')!, token: url.searchParams.get('token')!, link: link! };
  }

  const confirm = (uid: string, token: string, body: object) =>
    t.agent().post(`/api/password_confirm/${uid}/${token}/`).send(body);
  const both = (p: string) => ({ new_password: p, confirm_password: p });

  describe('POST /api/password_reset/', function () {
    it('mails a link to the frontend for an existing account', async function () {
      const u = await activeUser(t);
      const { uid } = await requestLink(u.email);
      expect(uid).to.equal(u.uid);
    });

    it('gives the same answer for an unknown email and sends nothing', async function () {
      const email = uniqueEmail('nobody');
      await t.agent().post('/api/password_reset/').send({ email }).expect(200, SENT);
      await new Promise((r) => setTimeout(r, 300));
      expect(await listMail({ to: email })).to.have.length(0);
    });

    it('sends nothing to an account that was never activated (same answer)', async function () {
      const u = await registerUser(t);
      await t.agent().post('/api/password_reset/').send({ email: u.email }).expect(200, SENT);
      await new Promise((r) => setTimeout(r, 300));
      expect(await listMail({ to: u.email, subject: 'Reset your password' })).to.have.length(0);
    });

    it('answers 400 with field errors for a missing or invalid email', async function () {
      await t
        .agent()
        .post('/api/password_reset/')
        .send({})
        .expect(400, { email: ['This field is required.'] });
      await t
        .agent()
        .post('/api/password_reset/')
        .send({ email: 'nope' })
        .expect(400, { email: ['Enter a valid email address.'] });
    });

    it('is rate-limited per client address (429)', async function () {
      const limited = buildTestApp(db, { RATE_LIMIT_PASSWORD_RESET_MAX: '2' });
      // the budgets live in the file's database: an address of its own (the test client is a trusted proxy)
      const agent = () => limited.agent().set('X-Forwarded-For', '198.51.100.22');
      for (let i = 0; i < 2; i++)
        await agent().post('/api/password_reset/').send({ email: uniqueEmail() }).expect(200);
      await agent().post('/api/password_reset/').send({ email: uniqueEmail() }).expect(429);
      limited.mailer.close();
    });
  });

  describe('POST /api/password_confirm/<uidb64>/<token>/', function () {
    it('sets the new password, ends every session, and the old password stops working', async function () {
      const u = await activeUser(t);
      const s1 = await loginUser(t, u);
      const s2 = await loginUser(t, u);
      const { uid, token } = await requestLink(u.email);
      const res = await confirm(uid, token, both(NEW_PASSWORD)).expect(200);
      expect(res.body).to.deep.equal({ detail: 'Your Password has been successfully reset.' });
      for (const s of [s1, s2]) {
        await t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${s.refresh}`).expect(401);
        await t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`).expect(401);
      }
      await t.agent().post('/api/login/').send({ email: u.email, password: u.password }).expect(400);
      await loginUser(t, { email: u.email, password: NEW_PASSWORD });
    });

    it('works once: the same link replayed gets 400', async function () {
      const u = await activeUser(t);
      const { uid, token } = await requestLink(u.email);
      await confirm(uid, token, both(NEW_PASSWORD)).expect(200);
      await confirm(uid, token, both('another-fresh-passphrase-9')).expect(400, INVALID_LINK);
      await loginUser(t, { email: u.email, password: NEW_PASSWORD });
    });

    it('refuses tampered tokens, foreign uids, and activation tokens used as reset tokens', async function () {
      const u = await activeUser(t);
      const other = await activeUser(t);
      const { uid, token } = await requestLink(u.email);
      const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      await confirm(uid, flipped, both(NEW_PASSWORD)).expect(400, INVALID_LINK);
      await confirm(other.uid, token, both(NEW_PASSWORD)).expect(400, INVALID_LINK);
      await confirm('%%%', token, both(NEW_PASSWORD)).expect(400); // not even a valid URL
      await confirm('AAAA', token, both(NEW_PASSWORD)).expect(400, INVALID_LINK);
      const fresh = await registerUser(t);
      await confirm(fresh.uid, fresh.token, both(NEW_PASSWORD)).expect(400, INVALID_LINK);
      await loginUser(t, u); // unchanged
    });

    it('refuses an expired link (past PASSWORD_RESET_TOKEN_TTL)', async function () {
      const u = await activeUser(t);
      const { uid, token } = await requestLink(u.email);
      t.clock.offsetMs = (t.config.PASSWORD_RESET_TOKEN_TTL + 60) * 1000;
      await confirm(uid, token, both(NEW_PASSWORD)).expect(400, INVALID_LINK);
    });

    it('invalidates a pending link when the user logs in meanwhile (bound to last login, as Django)', async function () {
      const u = await activeUser(t);
      const { uid, token } = await requestLink(u.email);
      await loginUser(t, u);
      await confirm(uid, token, both(NEW_PASSWORD)).expect(400, INVALID_LINK);
    });

    it('checks the body after the link: mismatch, weak, missing fields get field errors and keep the link usable', async function () {
      const u = await activeUser(t);
      const { uid, token } = await requestLink(u.email);
      await confirm(uid, token, { new_password: NEW_PASSWORD, confirm_password: `${NEW_PASSWORD}!` }).expect(
        400,
        {
          confirm_password: ['Passwords do not match.'],
        },
      );
      await confirm(uid, token, both('password1')).expect(400, {
        new_password: ['This password is too common.'],
      });
      await confirm(uid, token, both('short')).expect(400, {
        new_password: ['This password is too short. It must contain at least 8 characters.'],
      });
      await confirm(uid, token, {}).expect(400, {
        new_password: ['This field is required.'],
        confirm_password: ['This field is required.'],
      });
      await confirm(uid, token, both(NEW_PASSWORD)).expect(200);
    });

    it('answers "Invalid reset link." before looking at the body', async function () {
      await confirm('MQ', 'zzz-bad', {}).expect(400, INVALID_LINK);
    });
  });
});
