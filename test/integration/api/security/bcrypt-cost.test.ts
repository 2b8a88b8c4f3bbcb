/**
 * Issue 21, finding 7 (hashing): a hash is never re-written at a lower cost. The attack: a
 * misconfigured (or malicious) deployment with a low BCRYPT_COST that quietly weakens every
 * stored hash as users sign in. A rehash upwards keeps the password, so it ends no session.
 */
import { expect } from 'chai';
import { hashCost } from '../../../../api/security/passwords.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { activeUser, loginUser } from '../helpers/users.js';

describe('security: password hashes are re-written only upwards (issue 21.7)', function () {
  let db: TestDatabase;
  const apps: TestApp[] = [];
  const app = (cost: number) => {
    const a = buildTestApp(db, { BCRYPT_COST: String(cost) });
    apps.push(a);
    return a;
  };

  before(async function () {
    db = await freshDatabase('sec_bcrypt_cost');
  });
  after(async function () {
    for (const a of apps) a.mailer.close();
    await db?.drop();
  });

  it('keeps a cost-6 hash when an API with cost 4 signs the user in, and raises it to 7 with cost 7', async function () {
    const u = await activeUser(app(6));
    const stored = async () => (await db.models.User.findByPk(u.id))!.passwordHash;
    const before = await stored();
    expect(hashCost(before)).to.equal(6);
    const low = app(4);
    const s = await loginUser(low, u);
    expect(await stored()).to.equal(before); // not re-written at all
    const high = app(7);
    await loginUser(high, u);
    expect(hashCost(await stored())).to.equal(7);
    // same password: the session opened before the rehash lives on
    await low.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`).expect(200);
    await loginUser(low, u); // and the password still works
    expect(hashCost(await stored())).to.equal(7);
  });
});
