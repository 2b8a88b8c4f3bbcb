/** Shortcuts to put users in a known state through the real endpoints. */
import { expect } from 'chai';
import { GOOD_PASSWORD, uniqueEmail, type TestApp } from './app.js';
import { parseSetCookies } from './cookies.js';

export interface Registered {
  id: number;
  email: string;
  password: string;
  uid: string;
  token: string;
}

export async function registerUser(
  t: TestApp,
  opts: { email?: string; password?: string } = {},
): Promise<Registered> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? GOOD_PASSWORD;
  const res = await t.agent().post('/api/register/').send({ email, password, confirmed_password: password });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return {
    id: res.body.user.id,
    email,
    password,
    uid: Buffer.from(String(res.body.user.id)).toString('base64url'),
    token: res.body.token,
  };
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
