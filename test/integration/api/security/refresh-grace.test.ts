/**
 * Issue 21, finding 6: refresh rotation with a grace window. Two tabs refreshing with the same token
 * at once both get the same successor (before, the second revoked the session: a signed-in user
 * thrown out for opening two tabs). A stolen token replayed after the window, or any older token,
 * still revokes the whole family: the grace never extends to a thief with an old token.
 */
import { expect } from 'chai';
import type { TestApp } from '../helpers/app.js';
import { parseSetCookies } from '../helpers/cookies.js';
import type { TestDatabase } from '../helpers/db.js';
import { activeUser, loginUser, type Session } from '../helpers/users.js';
import { useTestApp } from '../helpers/setup.js';

describe('security: refresh grace window (issue 21.6)', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('sec_refresh_grace', { REFRESH_GRACE_SECONDS: '10' }, (e) => ({ db, t } = e));

  const refreshWith = (token: string) =>
    t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${token}`);
  const rotated = (res: { headers: Record<string, unknown>; body: { access: string } }): Session => ({
    access: res.body.access,
    refresh: parseSetCookies(res.headers['set-cookie'] as string[]).get('refresh_token')!.value,
  });
  const me = (s: Session) => t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`);

  it('two tabs within the window: both 200, the same successor, each a working access token', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const tabA = rotated(await refreshWith(s0.refresh).expect(200));
    t.clock.offsetMs = 9_000; // the second tab, 9 s later
    const tabB = rotated(await refreshWith(s0.refresh).expect(200));
    expect(tabB.refresh).to.equal(tabA.refresh);
    await me(tabA).expect(200);
    await me(tabB).expect(200);
    // the family goes on from the shared successor
    const s2 = rotated(await refreshWith(tabA.refresh).expect(200));
    await me(s2).expect(200);
    expect(await db.models.RefreshToken.count({ where: { userId: u.id } })).to.equal(3);
  });

  it('replay after the window revokes the whole family (stolen token)', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const s1 = rotated(await refreshWith(s0.refresh).expect(200));
    t.clock.offsetMs = 11_000;
    await refreshWith(s0.refresh).expect(401);
    await refreshWith(s1.refresh).expect(401);
    await me(s1).expect(401);
    const session = await db.models.AuthSession.findOne({ where: { userId: u.id } });
    expect(session!.revokeReason).to.equal('reuse_detected');
  });

  it('an older token (not the immediately preceding one) gets no grace, even within the window', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const s1 = rotated(await refreshWith(s0.refresh).expect(200));
    const s2 = rotated(await refreshWith(s1.refresh).expect(200));
    await refreshWith(s0.refresh).expect(401); // two rotations back: reuse
    await refreshWith(s2.refresh).expect(401);
    await me(s2).expect(401);
  });

  it('the preceding token gets no grace once its successor was itself rotated', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const s1 = rotated(await refreshWith(s0.refresh).expect(200));
    rotated(await refreshWith(s1.refresh).expect(200));
    // s1 is now the preceding token of the head: within the window it still gets the head again
    const again = rotated(await refreshWith(s1.refresh).expect(200));
    await me(again).expect(200);
    // but s0, whose successor s1 is used, is reuse
    await refreshWith(s0.refresh).expect(401);
  });

  it('logout with the just-rotated token within the window is a normal logout', async function () {
    const u = await activeUser(t);
    const s0 = await loginUser(t, u);
    const s1 = rotated(await refreshWith(s0.refresh).expect(200));
    await t.agent().post('/api/logout/').set('Cookie', `refresh_token=${s0.refresh}`).expect(200);
    await me(s1).expect(401);
    const session = await db.models.AuthSession.findOne({ where: { userId: u.id } });
    expect(session!.revokeReason).to.equal('logout');
  });
});
