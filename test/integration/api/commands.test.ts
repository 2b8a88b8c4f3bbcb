/**
 * The API as processes: main.ts starts, serves and shuts down in order on SIGTERM; it refuses to
 * start in production without a real JWT secret; migrate.ts and create-admin.ts work on a real database.
 */
import { expect } from 'chai';
import { migrations } from '../../../api/migrations/index.js';
import { waitFor } from '../../support/waiters.js';
import { buildTestApp, GOOD_PASSWORD, smtpEnv, uniqueEmail } from './helpers/app.js';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { freePort, runCommand, startCommand } from './helpers/process.js';
import { loginUser, mailedLink } from './helpers/users.js';

describe('api: commands (main, migrate, create-admin)', function () {
  // child processes start through tsx: slow on a loaded machine
  this.timeout(240_000);
  let db: TestDatabase;

  before(async function () {
    db = await freshDatabase('commands');
  });
  after(async function () {
    await db?.drop();
  });

  it('main.ts serves, then on SIGTERM turns unready, keeps serving for the delay, and exits 0', async function () {
    const port = await freePort();
    const app = startCommand('api/main.ts', [], {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '5000',
      ...smtpEnv(),
    });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        timeoutMs: 120_000,
        what: `main.ts ready on ${port}; output: ${app.output()}`,
      });
      const post = (path: string, body: object) =>
        fetch(`http://127.0.0.1:${port}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const email = uniqueEmail('main');
      const reg = await post('/api/register/', {
        email,
        password: GOOD_PASSWORD,
        confirmed_password: GOOD_PASSWORD,
      });
      expect(reg.status).to.equal(201);
      const { user } = (await reg.json()) as { user: { id: number } };
      const { uid, token } = await mailedLink(email); // the answer's token activates nothing
      expect(uid).to.equal(Buffer.from(String(user.id)).toString('base64url'));
      expect((await fetch(`http://127.0.0.1:${port}/api/activate/${uid}/${token}/`)).status).to.equal(200);
      const login = await post('/api/login/', { email, password: GOOD_PASSWORD });
      expect(login.status).to.equal(200);
      const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]!.split('=')[1]!);
      expect(
        (await post('/api/login/', { email: 'nobody@example.test', password: GOOD_PASSWORD })).status,
      ).to.equal(400);
      app.child.kill('SIGTERM');
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 503, {
        timeoutMs: 5_000,
        what: 'readiness 503 during the shutdown delay',
      });
      await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => expect(r.status).to.equal(200)); // still serving
      const ran = await app.done;
      expect(ran.code, ran.stderr).to.equal(0);
      const lines = ran.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; level: string });
      const msgs = lines.map((l) => l.msg);
      expect(msgs).to.include('api listening');
      expect(msgs.indexOf('shutting down')).to.be.lessThan(msgs.indexOf('stopped'));
      // one JSON line per request, and no secret anywhere in the log
      expect(ran.stdout).to.contain('"path":"/api/activate/:uidb64/:token/"');
      for (const secret of [GOOD_PASSWORD, token, ...cookies]) expect(ran.stdout).to.not.contain(secret);
    } finally {
      app.child.kill('SIGKILL');
    }
  });

  it('main.ts refuses to start in production without a strong JWT_SECRET (exit 78, names the variable)', async function () {
    const base = { DATABASE_URL: db.url, NODE_ENV: 'production', PORT: String(await freePort()) };
    const missing = await runCommand('api/main.ts', [], base);
    expect(missing.code).to.equal(78);
    expect(missing.stderr).to.contain('JWT_SECRET: required when NODE_ENV=production');
    const weak = await runCommand('api/main.ts', [], { ...base, JWT_SECRET: 'changeme' });
    expect(weak.code).to.equal(78);
    expect(weak.stderr).to.match(/JWT_SECRET: too weak/);
  });

  it('migrate.ts is idempotent and reports its status', async function () {
    const up = await runCommand('api/migrate.ts', ['up'], { DATABASE_URL: db.url });
    expect(up.code, up.stderr).to.equal(0);
    expect(up.stdout).to.contain('database up to date');
    const status = await runCommand('api/migrate.ts', ['status'], { DATABASE_URL: db.url });
    const all = migrations.map((m) => m.name);
    expect(all.slice(0, 2)).to.deep.equal(['0001-users', '0002-sessions']);
    expect(JSON.parse(status.stdout)).to.deep.equal({ executed: all, pending: [] });
  });

  it('create-admin.ts creates an active staff user who can log in, and refuses weak passwords and duplicates', async function () {
    const email = uniqueEmail('admin');
    const env = { DATABASE_URL: db.url, BCRYPT_COST: '4' };
    const weak = await runCommand(
      'api/cli/create-admin.ts',
      ['--email', email, '--password-stdin'],
      env,
      'password\n',
    );
    expect(weak.code).to.equal(2);
    expect(weak.stderr).to.contain('too common');

    const ok = await runCommand('api/cli/create-admin.ts', [], {
      ...env,
      ADMIN_EMAIL: email,
      ADMIN_PASSWORD: GOOD_PASSWORD,
    });
    expect(ok.code, ok.stderr).to.equal(0);
    const user = await db.models.User.findOne({ where: { email } });
    expect(user!.isStaff).to.equal(true);
    expect(user!.isActive).to.equal(true);

    const dup = await runCommand(
      'api/cli/create-admin.ts',
      ['--email', email.toUpperCase(), '--password-stdin'],
      env,
      `${GOOD_PASSWORD}\n`,
    );
    expect(dup.code).to.equal(2);
    expect(dup.stderr).to.contain('already exists');

    const t = buildTestApp(db);
    const s = await loginUser(t, { email, password: GOOD_PASSWORD });
    const me = await t.agent().get('/api/me/').set('Cookie', `access_token=${s.access}`).expect(200);
    expect(me.body.is_staff).to.equal(true);
    t.mailer.close();
  });
});
