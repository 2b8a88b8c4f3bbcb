/** Shortcuts to put users in a known state through the real endpoints. */
import { expect } from 'chai';
import { waitForMail } from '../../../support/mail.js';
import { GOOD_PASSWORD, uniqueEmail, type TestApp } from './app.js';
import { parseSetCookies } from './cookies.js';

export interface Registered {
  id: number;
  email: string;
  password: string;
  uid: string;
  /** The activation token of the mailed link (the answer's `token` activates nothing). */
  token: string;
}

/** The uid and token of the newest mailed link of `kind` to `email`. */
export async function mailedLink(
  email: string,
  kind: 'activation' | 'reset' = 'activation',
): Promise<{ uid: string; token: string }> {
  const subject = kind === 'activation' ? 'Confirm your email' : 'Reset your password';
  const mail = await waitForMail({ to: email, subject });
  const m = /uid=([A-Za-z0-9_-]+)&token=([0-9a-z]+-[A-Za-z0-9_-]+)/.exec(mail.text ?? '');
  if (!m) throw new Error(`no link in the mail to ${email}: ${mail.text}`);
  return { uid: m[1]!, token: m[2]! };
}

export async function registerUser(
  t: TestApp,
  opts: { email?: string; password?: string } = {},
): Promise<Registered> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? GOOD_PASSWORD;
  const res = await t.agent().post('/api/register/').send({ email, password, confirmed_password: password });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  const link = await mailedLink(email);
  return { id: res.body.user.id, email, password, uid: link.uid, token: link.token };
}

export async function activeUser(
  t: TestApp,
  opts: { email?: string; password?: string } = {},
): Promise<Registered> {
  const u = await registerUser(t, opts);
  await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(200);
  return u;
}

export interface Session {
  access: string;
  refresh: string;
}

export async function loginUser(t: TestApp, u: { email: string; password: string }): Promise<Session> {
  const res = await t.agent().post('/api/login/').send({ email: u.email, password: u.password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  const c = parseSetCookies(res.headers['set-cookie']);
  return { access: c.get('access_token')!.value, refresh: c.get('refresh_token')!.value };
}
