/**
 * Ended sessions and expired refresh tokens are deleted a day after they end; live ones stay. Never-activated
 * accounts go a day after their activation link expired.
 */
import { expect } from 'chai';
import { purgeExpiredSessions, purgeUnactivatedAccounts } from '../../../api/services/sessions.js';
import type { TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { activeUser, loginUser, registerUser } from './helpers/users.js';
import { useTestApp } from './helpers/setup.js';

describe('api: purging ended sessions', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('purge', { REFRESH_TOKEN_TTL: '3600', SESSION_MAX_AGE: '7200' }, (e) => ({ db, t } = e));

  it('deletes revoked and expired sessions (and their tokens) after the grace period, keeps live ones', async function () {
    const u = await activeUser(t);
    const loggedOut = await loginUser(t, u);
    await t.agent().post('/api/logout/').set('Cookie', `refresh_token=${loggedOut.refresh}`).expect(200);
    const live = await loginUser(t, u);
    const countOf = async () => ({
      sessions: await db.models.AuthSession.count({ where: { userId: u.id } }),
      tokens: await db.models.RefreshToken.count({ where: { userId: u.id } }),
    });
    expect(await countOf()).to.deep.equal({ sessions: 2, tokens: 2 });

    // within the grace period nothing goes
    expect(await purgeExpiredSessions(t.app.locals.ctx)).to.deep.equal({ sessions: 0, tokens: 0 });
    await t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${live.refresh}`).expect(200);

    // a day and a bit later: the logged-out session goes; the live one is past its max age too
    t.clock.offsetMs = (24 * 3600 + 60) * 1000;
    const purged = await purgeExpiredSessions(t.app.locals.ctx);
    expect(purged.sessions).to.equal(1);
    expect((await countOf()).sessions).to.equal(1);
    t.clock.offsetMs = (24 * 3600 + 7200 + 60) * 1000;
    await purgeExpiredSessions(t.app.locals.ctx);
    expect(await countOf()).to.deep.equal({ sessions: 0, tokens: 0 });
    t.clock.offsetMs = 0;
  });

  it('deletes never-activated accounts a day after their activation link expired, and nothing else', async function () {
    const pending = await registerUser(t); // never activated
    const activated = await activeUser(t);
    const deactivated = await activeUser(t);
    await db.models.User.update({ isActive: false }, { where: { id: deactivated.id } });
    const ids = [pending.id, activated.id, deactivated.id];
    const left = async () =>
      (await db.models.User.findAll({ where: { id: ids }, order: [['id', 'ASC']] })).map((u) => u.id);
    t.clock.offsetMs = (t.config.ACTIVATION_TOKEN_TTL + 23 * 3600) * 1000; // link expired, grace running
    expect(await purgeUnactivatedAccounts(t.app.locals.ctx)).to.equal(0);
    t.clock.offsetMs = (t.config.ACTIVATION_TOKEN_TTL + 24 * 3600 + 60) * 1000;
    expect(await purgeUnactivatedAccounts(t.app.locals.ctx)).to.be.at.least(1);
    expect(await left()).to.deep.equal([activated.id, deactivated.id]);
    t.clock.offsetMs = 0;
    // the address is free again
    await registerUser(t, { email: pending.email });
  });
});
