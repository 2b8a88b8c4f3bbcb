/**
 * Issue 21, finding 8: registration held a database transaction (and so a pooled connection) open
 * while it talked to SMTP. The attack: a few registrations while the mail server is slow (or made
 * slow: a tarpit, an overloaded relay) exhaust the pool, and sign-in and streaming stop for everyone.
 * Here ten mails are held by the server while the pool has two connections; sign-in must work.
 */
import { expect } from 'chai';
import { createSequelize } from '../../../../api/infra/db.js';
import { initModels } from '../../../../api/models/index.js';
import { waitFor } from '../../../support/waiters.js';
import { buildTestApp, GOOD_PASSWORD, uniqueEmail, type TestApp } from '../helpers/app.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { startHoldingSmtp, type HoldingSmtp } from '../helpers/holding-smtp.js';
import { activeUser } from '../helpers/users.js';

describe('security: a slow mail server does not exhaust the database pool (issue 21.8)', function () {
  let db: TestDatabase;
  let small: TestDatabase;
  let smtp: HoldingSmtp;
  let t: TestApp;
  let slow: TestApp;

  before(async function () {
    db = await freshDatabase('sec_slow_smtp');
    t = buildTestApp(db);
    smtp = await startHoldingSmtp();
    // the same database through a pool of two connections
    const sequelize = createSequelize({ url: db.url, poolMax: 2 });
    small = { ...db, sequelize, models: initModels(sequelize), drop: () => sequelize.close() };
    slow = buildTestApp(small, {
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtp.port),
      SMTP_TIMEOUT_MS: '600000', // the server answers when the test says so, not on a timer
    });
  });
  after(async function () {
    smtp?.release();
    slow?.mailer.close();
    t?.mailer.close();
    await smtp?.close();
    await small?.drop();
    await db?.drop();
  });

  it('signs a user in while ten registrations wait on the mail server, then completes them all', async function () {
    const u = await activeUser(t);
    const emails = Array.from({ length: 10 }, () => uniqueEmail('slowmail'));
    const pending = emails.map((email) =>
      slow
        .agent()
        .post('/api/register/')
        .send({ email, password: GOOD_PASSWORD, confirmed_password: GOOD_PASSWORD })
        .then((r) => r),
    );
    await waitFor(() => smtp.held === 10 || undefined, {
      timeoutMs: 45_000, // under mocha's 60 s, so a failure says what it saw
      what: 'ten mails held by the SMTP server at once (a pool of 2 held in transactions lets 2 through)',
    });
    // all ten are inside the SMTP conversation now; the pool (2) must still serve others
    const login = await slow.agent().post('/api/login/').send({ email: u.email, password: u.password });
    expect(login.status, JSON.stringify(login.body)).to.equal(200);
    expect(smtp.accepted).to.equal(0); // still held: the sign-in did not wait for them
    smtp.release();
    const done = await Promise.all(pending);
    expect(done.map((r) => r.status)).to.deep.equal(Array(10).fill(201));
    expect(await db.models.User.count({ where: { email: emails } })).to.equal(10);
  });
});
