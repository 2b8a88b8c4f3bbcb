/** POST /api/token/refresh/: rotation, replay detection revoking the family, bad and expired tokens. */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { buildTestApp, type TestApp } from './helpers/app.js';
import { parseSetCookies } from './helpers/cookies.js';
import type { TestDatabase } from './helpers/db.js';
import { activeUser, loginUser, type Session } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

const INVALID = { detail: 'Invalid refresh token.' };

describe('api: POST /api/token/refresh/', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('refresh', {}, (e) => ({ db, t } = e));

  const refreshWith = (token: string) =>
    t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${token}`);
  const me = (access: string) => t.agent().get('/api/me/').set('Cookie', `access_token=${access}`);
  const rotate = async (token: string): Promise<Session> => {
    const res = await refreshWith(token).expect(200);
    const c = parseSetCookies(res.headers['set-cookie']);
    expect(c.get('access_token')!.value).to.equal(res.body.access);
    expect(c.get('refresh_token')!.attributes.path).to.equal('/api/');
    return { access: res.body.access, refresh: c.get('refresh_token')!.value };
  };

  it('rotates: new access (body and cookie) and new refresh token; the old one stops working', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const s1 = await rotate(s0.refresh);
    expect(s1.refresh).to.not.equal(s0.refresh);
    await me(s1.access).expect(200);
    const s2 = await rotate(s1.refresh);
    await me(s2.access).expect(200);
    const rows = await db.models.RefreshToken.findAll({
      where: { userId: u.id },
      order: [['createdAt', 'ASC']],
    });
    expect(rows).to.have.length(3);
    expect(rows.filter((r) => r.usedAt === null)).to.have.length(1);
    t.clock.offsetMs = (t.config.REFRESH_GRACE_SECONDS + 1) * 1000; // past the grace window
    await refreshWith(s1.refresh).expect(401, INVALID); // the rotated one stopped working
  });

  it('answers 400 without a refresh cookie', async function () {
    await t.agent().post('/api/token/refresh/').expect(400, { detail: 'Refresh token missing.' });
  });

  it('treats a replayed (already rotated) token as theft: 401 and the whole family is revoked', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const s1 = await rotate(s0.refresh);
    t.clock.offsetMs = (t.config.REFRESH_GRACE_SECONDS + 1) * 1000; // past the grace window
    await refreshWith(s0.refresh).expect(401, INVALID); // replay
    // the legitimate newest tokens of that family are dead too
    await refreshWith(s1.refresh).expect(401, INVALID);
    await me(s1.access).expect(401);
    const session = await db.models.AuthSession.findOne({ where: { userId: u.id } });
    expect(session!.revokeReason).to.equal('reuse_detected');
  });

  it('leaves other sessions of the same user alone when one family is revoked', async function () {
    const u = await activeUser(t);
    const a = await loginUser(t, u);
    const b = await loginUser(t, u);
    await rotate(a.refresh);
    t.clock.offsetMs = (t.config.REFRESH_GRACE_SECONDS + 1) * 1000;
    await refreshWith(a.refresh).expect(401);
    await rotate(b.refresh);
  });

  it('refuses tampered, foreign-key, wrong-type and "none"-algorithm tokens (401)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const [h, p, sig] = s.refresh.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: '1' })).toString('base64url')}.${sig}`;
    await refreshWith(tampered).expect(401, INVALID);
    await refreshWith(`${s.refresh.slice(0, -2)}xx`).expect(401, INVALID);
    const foreign = jwt.sign(claims, 'another-secret-another-secret-another-secret', { algorithm: 'HS256' });
    await refreshWith(foreign).expect(401, INVALID);
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;
    await refreshWith(none).expect(401, INVALID);
    await refreshWith(s.access).expect(401, INVALID); // an access token is not a refresh token
    await refreshWith('garbage').expect(401, INVALID);
    // after all that, the real one still works
    await rotate(s.refresh);
  });

  it('refuses an expired refresh token (401)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const claims = JSON.parse(Buffer.from(s.refresh.split('.')[1]!, 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign({ ...claims, iat: now - 100, exp: now - 50 }, t.config.JWT_SECRET, {
      algorithm: 'HS256',
    });
    await refreshWith(expired).expect(401, INVALID);
    // and by the server's clock: past the token's lifetime
    t.clock.offsetMs = (t.config.REFRESH_TOKEN_TTL + 60) * 1000;
    await refreshWith(s.refresh).expect(401, INVALID);
  });

  it('never extends a session past SESSION_MAX_AGE', async function () {
    const short = buildTestApp(db, { SESSION_MAX_AGE: '120', REFRESH_TOKEN_TTL: '3600' });
    const u = await activeUser(short);
    const s = await loginUser(short, u);
    const exp = JSON.parse(Buffer.from(s.refresh.split('.')[1]!, 'base64url').toString()).exp as number;
    expect(exp - Date.now() / 1000).to.be.within(100, 121);
    short.clock.offsetMs = 125_000;
    await short.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${s.refresh}`).expect(401);
    short.mailer.close();
  });

  it('gives two concurrent refreshes with the same token the same successor (grace window)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    const [r1, r2] = await Promise.all([refreshWith(s.refresh), refreshWith(s.refresh)]);
    expect([r1.status, r2.status]).to.deep.equal([200, 200]);
    const c1 = parseSetCookies(r1.headers['set-cookie']).get('refresh_token')!.value;
    const c2 = parseSetCookies(r2.headers['set-cookie']).get('refresh_token')!.value;
    expect(c1).to.equal(c2);
    expect(await db.models.RefreshToken.count({ where: { userId: u.id } })).to.equal(2);
  });

  it('without a grace window (REFRESH_GRACE_SECONDS=0), lets one of two concurrent refreshes win and revokes on the loser', async function () {
    const strict = buildTestApp(db, { REFRESH_GRACE_SECONDS: '0' });
    const u = await activeUser(strict);
    const s = await loginUser(strict, u);
    const send = () => strict.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${s.refresh}`);
    const [r1, r2] = await Promise.all([send(), send()]);
    expect([r1.status, r2.status].sort()).to.deep.equal([200, 401]);
    strict.mailer.close();
  });
});
