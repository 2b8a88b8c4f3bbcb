/** POST /api/register/: validation, duplicates, the activation mail, and rollback when SMTP refuses. */
import { expect } from 'chai';
import net from 'node:net';
import { listMail, waitForMail } from '../../support/mail.js';
import { buildTestApp, GOOD_PASSWORD, uniqueEmail, type TestApp } from './helpers/app.js';
import type { TestDatabase } from './helpers/db.js';
import { startRefusingSmtp, type RefusingSmtp } from './helpers/refusing-smtp.js';
import { useTestApp } from './helpers/setup.js';

describe('api: POST /api/register/', function () {
  let db: TestDatabase;
  let t: TestApp;
  useTestApp('register', {}, (e) => ({ db, t } = e));

  const body = (email: string, password = GOOD_PASSWORD, confirmed = password) => ({
    email,
    password,
    confirmed_password: confirmed,
  });

  it('creates an inactive user, answers 201 with {user: {id, email}, token} and mails the link', async function () {
    const email = uniqueEmail('reg');
    const res = await t.agent().post('/api/register/').send(body(email)).expect(201);
    expect(res.body).to.have.all.keys('user', 'token');
    expect(res.body.user).to.have.all.keys('id', 'email');
    const row = await db.models.User.findByPk(res.body.user.id);
    expect(row!.isActive).to.equal(false);
    expect(row!.isStaff).to.equal(false);
    expect(row!.passwordHash).to.match(/^bcrypt_sha256\$\$2b\$04\$/);
    expect(row!.passwordHash).to.not.contain(GOOD_PASSWORD);
    const mail = await waitForMail({ to: email, subject: 'Confirm your email' });
    expect(mail.text).to.contain(`uid=${Buffer.from(String(res.body.user.id)).toString('base64url')}`);
    expect(mail.text).to.match(/token=[0-9a-z]+-[A-Za-z0-9_-]{43}/);
    expect(mail.text).to.not.contain(res.body.token); // the answer's `token` is a decoy (issue 21)
  });

  it('accepts a 64-character password and passphrases with spaces and unicode', async function () {
    const long = 'a long passphrase that is exactly sixty-four characters long!!!!';
    expect(long.length).to.equal(64);
    await t
      .agent()
      .post('/api/register/')
      .send(body(uniqueEmail('long'), long))
      .expect(201);
    await t
      .agent()
      .post('/api/register/')
      .send(body(uniqueEmail('uni'), 'Grüße aus Köln 🎬'))
      .expect(201);
  });

  it('refuses an email already registered, whatever its case (400 with a field error)', async function () {
    const email = uniqueEmail('dup');
    await t.agent().post('/api/register/').send(body(email)).expect(201);
    const res = await t.agent().post('/api/register/').send(body(email.toUpperCase())).expect(400);
    expect(res.body).to.deep.equal({ email: ['A user with this email already exists.'] });
    expect(await db.models.User.count({ where: { email: email.toUpperCase() } })).to.equal(0);
  });

  it('answers field errors for missing and malformed fields', async function () {
    const res = await t.agent().post('/api/register/').send({ email: 'not-an-email' }).expect(400);
    expect(res.body).to.deep.equal({
      email: ['Enter a valid email address.'],
      password: ['This field is required.'],
      confirmed_password: ['This field is required.'],
    });
    const wrongType = await t
      .agent()
      .post('/api/register/')
      .send({ email: 42, password: [], confirmed_password: {} })
      .expect(400);
    expect(wrongType.body).to.have.all.keys('email', 'password', 'confirmed_password');
  });

  it('refuses mismatched confirmation, short, common and email-derived passwords', async function () {
    const email = uniqueEmail('weak');
    let res = await t
      .agent()
      .post('/api/register/')
      .send(body(email, GOOD_PASSWORD, `${GOOD_PASSWORD}x`))
      .expect(400);
    expect(res.body).to.deep.equal({ confirmed_password: ['Passwords do not match.'] });
    res = await t.agent().post('/api/register/').send(body(email, 'k7#Qz!')).expect(400);
    expect(res.body.password).to.deep.equal([
      'This password is too short. It must contain at least 8 characters.',
    ]);
    res = await t.agent().post('/api/register/').send(body(email, 'Password123')).expect(400);
    expect(res.body.password).to.deep.equal(['This password is too common.']);
    res = await t
      .agent()
      .post('/api/register/')
      .send(body('marguerite@example.test', 'Marguerite1!'))
      .expect(400);
    expect(res.body.password).to.deep.equal(['The password is too similar to the email address.']);
    res = await t
      .agent()
      .post('/api/register/')
      .send(body(email, 'x'.repeat(129)))
      .expect(400);
    expect(res.body.password![0]).to.match(/too long/);
    expect(await db.models.User.count({ where: { email } })).to.equal(0);
  });

  it('refuses bodies that are not JSON, malformed JSON and oversized bodies without a 500', async function () {
    await t.agent().post('/api/register/').set('Content-Type', 'text/plain').send('email=a').expect(415);
    const bad = await t
      .agent()
      .post('/api/register/')
      .set('Content-Type', 'application/json')
      .send('{"email":')
      .expect(400);
    expect(bad.body.detail).to.match(/JSON parse error/);
    const huge = { ...body(uniqueEmail('big')), padding: 'x'.repeat(20_000) };
    const big = await t.agent().post('/api/register/').send(huge).expect(413);
    expect(big.body).to.have.key('detail');
    const arr = await t.agent().post('/api/register/').send([1, 2]).expect(400);
    expect(arr.body).to.have.key('non_field_errors');
  });

  describe('when mail cannot be sent', function () {
    let refusing: RefusingSmtp;
    let broken: TestApp;

    before(async function () {
      refusing = await startRefusingSmtp();
      broken = buildTestApp(db, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(refusing.port) });
    });
    after(async function () {
      broken?.mailer.close();
      await refusing?.close();
    });

    it('removes the user again and answers 503 when the SMTP server refuses the mail', async function () {
      const email = uniqueEmail('refused');
      const res = await broken.agent().post('/api/register/').send(body(email)).expect(503);
      expect(res.body).to.deep.equal({ detail: 'Email service is currently unavailable.' });
      expect(refusing.commands.some((c) => c.startsWith('MAIL FROM'))).to.equal(true);
      expect(await db.models.User.count({ where: { email } })).to.equal(0);
      // and the address is free: a later registration through a working server succeeds
      await t.agent().post('/api/register/').send(body(email)).expect(201);
    });

    it('removes the user when the SMTP server cannot be reached at all', async function () {
      const closed = net.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const unreachable = buildTestApp(db, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port) });
      const email = uniqueEmail('unreachable');
      await unreachable.agent().post('/api/register/').send(body(email)).expect(503);
      expect(await db.models.User.count({ where: { email } })).to.equal(0);
      expect(await listMail({ to: email })).to.have.length(0);
      unreachable.mailer.close();
    });
  });

  it('rate-limits registrations per client address (429 with Retry-After)', async function () {
    const limited = buildTestApp(db, { RATE_LIMIT_REGISTER_MAX: '2' });
    // the budgets live in the file's database: an address of its own (the test client is a trusted proxy)
    const agent = () => limited.agent().set('X-Forwarded-For', '198.51.100.21');
    for (let i = 0; i < 2; i++) {
      await agent().post('/api/register/').send({ email: 'bad' }).expect(400);
    }
    const res = await agent()
      .post('/api/register/')
      .send(body(uniqueEmail('limited')))
      .expect(429);
    expect(res.body.detail).to.match(/^Request was throttled\. Expected available in \d+ seconds\.$/);
    expect(Number(res.headers['retry-after'])).to.be.greaterThan(0);
    limited.mailer.close();
  });

  it('refuses a registration posted from a foreign origin (CSRF, 403)', async function () {
    const email = uniqueEmail('csrf');
    const res = await t
      .agent()
      .post('/api/register/')
      .set('Origin', 'https://evil.example')
      .send(body(email))
      .expect(403);
    expect(res.body.detail).to.match(/^CSRF Failed: Origin checking failed/);
    expect(await db.models.User.count({ where: { email } })).to.equal(0);
  });
});
