/**
 * Self-contained tokens (ASVS V9) attacked through the ingress: `alg: none`, algorithm confusion (RS256 /
 * HS512 headers), expired, tampered, wrong type, and replayed after logout, each refused with 401 on a
 * protected route, while the untouched token (the control) is accepted.
 */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { createHmac } from 'node:crypto';
import { NS, kubectl, secretValue } from '../support/platform.js';
import { adminSession, call, directBase, postJson, type Session } from './support.js';

const b64 = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const parts = (token: string) => {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>,
    signature: s!,
  };
};
const withAccess = (access: string) => call('GET', '/api/video/', { cookies: { access_token: access } });

describe('attack: forged, expired, tampered and replayed tokens', () => {
  let session: Session;
  let secret: string;

  before(async () => {
    session = await adminSession();
    const name = kubectl(['get', 'secret', '-n', NS, '-o', 'name'])
      .split('\n')
      .map((s) => s.replace(/^secret\//, ''))
      .find((s) => s.endsWith('-jwt'));
    if (!name) throw new Error(`no *-jwt Secret in namespace ${NS}`);
    secret = await secretValue(name, 'JWT_SECRET');
  });

  it('accepts the genuine access token (the control of every attack below)', async () => {
    expect((await withAccess(session.access)).status).to.equal(200);
    // and one signed here with the real key and fresh claims: the forgeries below differ by one thing each
    const { payload } = parts(session.access);
    const now = Math.floor(Date.now() / 1000);
    const resigned = jwt.sign({ ...payload, iat: now, exp: now + 120 }, secret, { algorithm: 'HS256' });
    expect((await withAccess(resigned)).status).to.equal(200);
  });

  it('refuses alg "none" (no signature)', async () => {
    const { payload } = parts(session.access);
    for (const alg of ['none', 'None', 'NONE']) {
      const forged = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}.`;
      expect((await withAccess(forged)).status, alg).to.equal(401);
    }
  });

  it('refuses other algorithms than HS256 (RS256 header with an HMAC signature, HS512 with the real key)', async () => {
    const { payload } = parts(session.access);
    const body = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(payload)}`;
    const confused = `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
    expect((await withAccess(confused)).status).to.equal(401);
    const hs512 = jwt.sign(payload, secret, { algorithm: 'HS512', noTimestamp: true });
    expect((await withAccess(hs512)).status).to.equal(401);
  });

  it('refuses an expired token, even correctly signed', async () => {
    const { payload } = parts(session.access);
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign({ ...payload, iat: now - 7200, exp: now - 60 }, secret, { algorithm: 'HS256' });
    expect((await withAccess(expired)).status).to.equal(401);
  });

  it('refuses a tampered token (another user, another session, another type; signature kept)', async () => {
    const { header, payload, signature } = parts(session.access);
    for (const change of [
      { sub: String(Number(payload.sub) + 1) },
      { sid: '00000000-0000-4000-8000-000000000000' },
      { exp: Number(payload.exp) + 86400 },
    ]) {
      const tampered = `${b64(header)}.${b64({ ...payload, ...change })}.${signature}`;
      expect((await withAccess(tampered)).status, JSON.stringify(change)).to.equal(401);
    }
    // a flipped signature byte
    const flipped =
      session.access.slice(0, -2) + (session.access.endsWith('A') ? 'B' : 'A') + session.access.at(-1);
    expect((await withAccess(flipped)).status).to.equal(401);
  });

  it('refuses a refresh token used as an access token, and a key other than the configured one', async () => {
    expect((await withAccess(session.refresh)).status).to.equal(401);
    const { payload } = parts(session.access);
    const other = jwt.sign(payload, 'not-the-key-0123456789abcdefghijklmnop', {
      algorithm: 'HS256',
      noTimestamp: true,
    });
    expect((await withAccess(other)).status).to.equal(401);
  });

  it('refuses the access and refresh tokens of a session after logout (replay)', async () => {
    const s = await adminSession();
    expect((await withAccess(s.access)).status).to.equal(200);
    const out = await postJson('/api/logout/', {}, { cookies: s.cookies });
    expect(out.status, out.text).to.equal(200);
    expect((await withAccess(s.access)).status).to.equal(401);
    const base = await directBase();
    const refreshed = await postJson(
      '/api/token/refresh/',
      {},
      { base, cookies: { refresh_token: s.refresh } },
    );
    expect(refreshed.status, refreshed.text).to.equal(401);
  });
});
