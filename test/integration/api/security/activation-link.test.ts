/**
 * Issue 21, finding 7 (last part): an activation link must stay dead once used, even when the
 * account is deactivated later. The attack: keep an old activation link (a mail, a log, a shared
 * inbox), wait for an administrator to deactivate the account, then reactivate it with the link.
 */
import { expect } from 'chai';
import type { TestApp } from '../helpers/app.js';
import type { TestDatabase } from '../helpers/db.js';
import { activeUser, loginUser } from '../helpers/users.js';
import { useTestApp } from '../helpers/setup.js';

describe('security: an old activation link cannot reactivate a deactivated account (issue 21.7)', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('sec_activation_link', {}, (e) => ({ db, t } = e));

  it('answers 400 and the account stays inactive, with or without a sign-in in between', async function () {
    for (const signIn of [false, true]) {
      const u = await activeUser(t); // activated through the mailed link
      if (signIn) await loginUser(t, u);
      await db.models.User.update({ isActive: false }, { where: { id: u.id } }); // an admin deactivates
      await t.agent().get(`/api/activate/${u.uid}/${u.token}/`).expect(400);
      expect((await db.models.User.findByPk(u.id))!.isActive, `signIn=${signIn}`).to.equal(false);
    }
  });
});
