/**
 * Account enumeration by answer and by timing on sign-in and password reset: an existing address and
 * unknown ones get the same status and body, and take about as long (medians compared loosely: within a
 * factor of 3, as this shared machine's load varies). Sent directly to the API Service, each request as a
 * client of its own (X-Forwarded-For), so the per-address limits do not interfere; figures are printed.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { clientAddress, directBase, median, platform, postJson, type Answer } from './support.js';

const ROUNDS = 4;

describe('attack: account enumeration on sign-in and password reset', function () {
  this.timeout(180_000);
  // one unknown address, tried as often as the existing one (per-account slow-downs treat both alike)
  const nobody = `nobody-${randomBytes(5).toString('hex')}@example.test`;
  const unknown = () => nobody;
  const send = async (path: string, data: unknown): Promise<Answer> =>
    postJson(path, data, { base: await directBase(), headers: { 'x-forwarded-for': clientAddress() } });

  /** Medians within a factor of 3, or (for `slackMs` > 0) closer than slackMs. */
  async function compare(path: string, known: () => unknown, other: () => unknown, slackMs = 0) {
    const a: Answer[] = [];
    const b: Answer[] = [];
    await send(path, other()); // warm-up (connection, JIT)
    for (let i = 0; i < ROUNDS; i++) {
      a.push(await send(path, known()));
      b.push(await send(path, other()));
    }
    const ma = median(a.map((x) => x.ms));
    const mb = median(b.map((x) => x.ms));
    console.log(
      `      ${path}: existing ${ma.toFixed(0)} ms, unknown ${mb.toFixed(0)} ms (medians of ${ROUNDS})`,
    );
    expect(new Set(a.map((x) => x.status)), 'statuses of the existing account').to.deep.equal(
      new Set(b.map((x) => x.status)),
    );
    expect(a.map((x) => x.text)).to.deep.equal(b.map((x) => x.text));
    if (Math.abs(ma - mb) >= slackMs)
      expect(ma / mb, `median ratio ${(ma / mb).toFixed(2)}`).to.be.within(1 / 3, 3);
  }

  it('sign-in with a wrong password: same answer and timing for an existing and an unknown address', async () => {
    const e = await platform();
    await compare(
      '/api/login/',
      () => ({ email: e.ADMIN_EMAIL, password: `wrong-${randomBytes(6).toString('hex')}` }),
      () => ({ email: unknown(), password: `wrong-${randomBytes(6).toString('hex')}` }),
    );
  });

  it('password reset: same answer and timing for an existing and an unknown address', async () => {
    const e = await platform();
    await compare(
      '/api/password_reset/',
      () => ({ email: e.ADMIN_EMAIL }),
      () => ({ email: unknown() }),
      50, // a mail is sent for the existing address only: fine while it is not measurably slower
    );
  });
});
