/**
 * The takeover chain of issue 21 on the running platform: registering someone else's address and
 * activating it with the token the registration answers (it activates nothing; only the mailed link
 * does), and signing in to such an account. Sent directly to the API Service as clients of their own,
 * so the registration limit per address is not spent by the suite.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { call, clientAddress, directBase, postJson } from './support.js';

describe('attack: registering and activating an address one does not own', () => {
  it("refuses the registration answer's token at /api/activate/ and keeps the account unusable", async () => {
    const base = await directBase();
    const headers = { 'x-forwarded-for': clientAddress() };
    const victim = `victim-${randomBytes(5).toString('hex')}@example.test`;
    const password = `Attack-${randomBytes(6).toString('hex')}-pass`;
    const reg = await postJson(
      '/api/register/',
      { email: victim, password, confirmed_password: password },
      { base, headers },
    );
    expect(reg.status, reg.text).to.equal(201);
    const body = JSON.parse(reg.text) as { user: { id: number }; token: string };
    expect(body).to.have.all.keys('user', 'token'); // the shape the frontend reads stays
    const uid = Buffer.from(String(body.user.id)).toString('base64url');
    const activate = await call('GET', `/api/activate/${uid}/${body.token}/`, { base, headers });
    expect(activate.status, activate.text).to.be.within(400, 499);
    const login = await postJson('/api/login/', { email: victim, password }, { base, headers });
    expect(login.status, login.text).to.be.within(400, 499);
    expect(login.cookies).not.to.have.property('access_token');
  });
});
