/**
 * The whole journey through real mail: register → read the mail → follow the activation link →
 * login → protected route → refresh → logout → the old refresh token fails.
 */
import { expect } from 'chai';
import { waitForMail } from '../../support/mail.js';
import { FRONTEND, GOOD_PASSWORD, uniqueEmail, type TestApp } from './helpers/app.js';
import { parseSetCookies } from './helpers/cookies.js';
import { useTestApp } from './helpers/setup.js';

describe('api: the account journey through real mail', function () {
  let t: TestApp;
  useTestApp('journey', {}, (e) => ({ t } = e));

  it('registers, activates from the mailed link, logs in, refreshes, logs out', async function () {
    const email = uniqueEmail('journey');
    const browser = t.agent();

    const reg = await browser
      .post('/api/register/')
      .send({ email, password: GOOD_PASSWORD, confirmed_password: GOOD_PASSWORD })
      .expect(201);
    expect(reg.body.user.email).to.equal(email);
    expect(reg.body.user.id).to.be.a('number');
    expect(reg.body.token).to.be.a('string').with.length.greaterThan(10);

    // not active yet
    await browser.post('/api/login/').send({ email, password: GOOD_PASSWORD }).expect(400);

    const mail = await waitForMail({ to: email, subject: 'Confirm your email' });
    const link = /http:\/\/frontend\.test:4200\/activate\/index\.html\?uid=[^\s"<]+/.exec(
      mail.text ?? '',
    )?.[0];
    expect(link, `activation link in: ${mail.text}`).to.be.a('string');
    expect(mail.html).to.contain(link!.replace(/&/g, '&amp;'));
    const url = new URL(link!);
    expect(url.origin).to.equal(FRONTEND);
    const uid = url.searchParams.get('uid')!;
    const token = url.searchParams.get('token')!;
    expect(token).to.not.equal(reg.body.token); // the answer's token activates nothing (issue 21)

    // the frontend calls the API with what the link carries
    const act = await browser.get(`/api/activate/${uid}/${token}/`).expect(200);
    expect(act.body).to.deep.equal({ message: 'Account successfully activated.' });

    const login = await browser.post('/api/login/').send({ email, password: GOOD_PASSWORD }).expect(200);
    expect(login.body).to.deep.equal({
      detail: 'Login successful',
      user: { id: reg.body.user.id, username: email },
    });
    const cookies = parseSetCookies(login.headers['set-cookie']);
    const firstRefresh = cookies.get('refresh_token')!.value;

    const me = await browser.get('/api/me/').expect(200);
    expect(me.body).to.include({ id: reg.body.user.id, email });

    const refreshed = await browser.post('/api/token/refresh/').expect(200);
    expect(refreshed.body.detail).to.equal('Token refreshed');
    expect(refreshed.body.access).to.be.a('string');
    const rotated = parseSetCookies(refreshed.headers['set-cookie']);
    expect(rotated.get('access_token')!.value).to.equal(refreshed.body.access);
    expect(rotated.get('refresh_token')!.value).to.not.equal(firstRefresh);

    // the new access token works
    await browser.get('/api/me/').expect(200);

    const out = await browser.post('/api/logout/').expect(200);
    expect(out.body).to.deep.equal({
      detail: 'Logout successful! All tokens will be deleted. Refresh token is now invalid.',
    });
    const cleared = parseSetCookies(out.headers['set-cookie']);
    expect(cleared.get('access_token')!.value).to.equal('');
    expect(cleared.get('refresh_token')!.value).to.equal('');

    // the refresh token of the session no longer works (nor the first one), nor the old access token
    const afterLogout = t.agent();
    await afterLogout
      .post('/api/token/refresh/')
      .set('Cookie', `refresh_token=${rotated.get('refresh_token')!.value}`)
      .expect(401, { detail: 'Invalid refresh token.' });
    await afterLogout.post('/api/token/refresh/').set('Cookie', `refresh_token=${firstRefresh}`).expect(401);
    await t.agent().get('/api/me/').set('Cookie', `access_token=${refreshed.body.access}`).expect(401);
  });
});
