/**
 * Issue 21, finding 2: a change of staff status, password or activation state ends every session
 * of the account, and create-admin (run by `helm test`) promotes an account it did not create only
 * when told so explicitly. The attack: register the address an operator will later make staff
 * (e.g. helm test's), sign in, wait for `create-admin --update`, keep using the session as staff.
 */
import { expect } from 'chai';
import { GOOD_PASSWORD, uniqueEmail, type TestApp } from '../helpers/app.js';
import type { TestDatabase } from '../helpers/db.js';
import { runCommand } from '../helpers/process.js';
import { activeUser, loginUser, type Session } from '../helpers/users.js';
import { useTestApp } from '../helpers/setup.js';

const ADMIN_PASSWORD = 'operator-chosen-passphrase-7';

describe('security: account changes end sessions; create-admin promotes only what it made (issue 21.2)', function () {
  this.timeout(240_000); // child processes through tsx
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('sec_account_changes', {}, (e) => ({ db, t } = e));

  const cli = (args: string[], input?: string, env: Record<string, string> = {}) =>
    runCommand('api/cli/create-admin.ts', args, { DATABASE_URL: db.url, BCRYPT_COST: '4', ...env }, input);
  const me = (s: Session) => t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`);
  const refresh = (s: Session) =>
    t.agent().post('/api/token/refresh/').set('Cookie', `refresh_token=${s.refresh}`);
  const expectDead = async (s: Session) => {
    await me(s).expect(401);
    await refresh(s).expect(401);
  };

  it('create-admin --update refuses to promote an account registered through the API', async function () {
    const squatter = await activeUser(t); // registered the address first
    const session = await loginUser(t, squatter);
    const ran = await cli(['--email', squatter.email, '--password-stdin', '--update'], `${ADMIN_PASSWORD}\n`);
    expect(ran.code, ran.stdout + ran.stderr).to.equal(2);
    expect(ran.stderr).to.contain('was not created by create-admin').and.contain('--promote-existing');
    const row = await db.models.User.findByPk(squatter.id);
    expect(row!.isStaff).to.equal(false);
    await me(session).expect(200); // nothing changed, so the session lives on
  });

  it('--update --promote-existing promotes it and ends every session opened before (the squatter is out)', async function () {
    const squatter = await activeUser(t);
    const a = await loginUser(t, squatter);
    const b = await loginUser(t, squatter);
    const ran = await cli(
      ['--email', squatter.email, '--password-stdin', '--update', '--promote-existing'],
      `${ADMIN_PASSWORD}\n`,
    );
    expect(ran.code, ran.stderr).to.equal(0);
    await expectDead(a);
    await expectDead(b);
    // the squatter's password no longer works; the operator's does, as staff
    await t
      .agent()
      .post('/api/login/')
      .send({ email: squatter.email, password: squatter.password })
      .expect(400);
    const admin = await loginUser(t, { email: squatter.email, password: ADMIN_PASSWORD });
    expect((await me(admin).expect(200)).body.is_staff).to.equal(true);
  });

  it('--update of an account create-admin made resets it and ends its sessions; --delete removes it, and only such accounts', async function () {
    const email = uniqueEmail('helmtest');
    expect((await cli(['--email', email, '--password-stdin'], `${ADMIN_PASSWORD}\n`)).code).to.equal(0);
    const row = await db.models.User.findOne({ where: { email } });
    expect(row!.createdVia).to.equal('cli');
    const s = await loginUser(t, { email, password: ADMIN_PASSWORD });
    const again = await cli(['--email', email, '--password-stdin', '--update'], `${GOOD_PASSWORD}\n`);
    expect(again.code, again.stderr).to.equal(0);
    await expectDead(s);
    const s2 = await loginUser(t, { email, password: GOOD_PASSWORD });

    const del = await cli(['--delete', '--email', email]);
    expect(del.code, del.stderr).to.equal(0);
    expect(del.stdout).to.contain('deleted staff user');
    expect(await db.models.User.count({ where: { email } })).to.equal(0);
    await expectDead(s2);
    const twice = await cli(['--delete', '--email', email]);
    expect(twice.code, twice.stderr).to.equal(0); // a clean-up may run twice
    expect(twice.stdout).to.contain('nothing to delete');

    const registered = await activeUser(t);
    const refused = await cli(['--delete', '--email', registered.email]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain('was not created by create-admin');
    expect(await db.models.User.count({ where: { id: registered.id } })).to.equal(1);
  });

  it('create-admin refuses BCRYPT_COST below 10 in production (exit 78)', async function () {
    const ran = await cli(['--email', uniqueEmail('cost'), '--password-stdin'], `${ADMIN_PASSWORD}\n`, {
      NODE_ENV: 'production',
      BCRYPT_COST: '9',
    });
    expect(ran.code).to.equal(78);
    expect(ran.stderr).to.contain('BCRYPT_COST: at least 10');
  });

  it('ends every session when the staff flag, the active flag or the password changes, however it is changed', async function () {
    const changes: Array<[string, Record<string, unknown>, string]> = [
      ['promotion', { isStaff: true }, 'staff_changed'],
      ['deactivation', { isActive: false }, 'deactivated'],
      [
        'password',
        { passwordHash: 'bcrypt_sha256$$2b$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01' },
        'password_changed',
      ],
    ];
    for (const [what, change, reason] of changes) {
      const u = await activeUser(t);
      const s = await loginUser(t, u);
      await me(s).expect(200);
      await db.models.User.update(change, { where: { id: u.id } }); // not through any API route
      await expectDead(s);
      const sessions = await db.models.AuthSession.findAll({ where: { userId: u.id } });
      expect(
        sessions.map((x) => x.revokeReason),
        what,
      ).to.deep.equal([reason]);
    }
    // and by hand, in SQL
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    await db.sequelize.query('UPDATE users SET is_staff = true WHERE id = $1', { bind: [u.id] });
    await expectDead(s);
  });

  it('ends nothing for changes that do not touch those (last login, email case)', async function () {
    const u = await activeUser(t);
    const s = await loginUser(t, u);
    await loginUser(t, u); // updates last_login_at
    await db.models.User.update({ email: u.email.toUpperCase() }, { where: { id: u.id } });
    await me(s).expect(200);
  });
});
