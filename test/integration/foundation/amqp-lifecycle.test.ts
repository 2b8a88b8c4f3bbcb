/**
 * The one AMQP connection lifecycle (common/amqp/lifecycle.ts) against the private RabbitMQ:
 * connect + setup, replace a lost connection after the backoff, reset on the owner's demand, stop
 * for good (no reconnect after it), and keep trying a broker that is not there without hanging.
 */
import type { Channel, ChannelModel } from 'amqplib';
import { expect } from 'chai';
import { AmqpLifecycle } from '../../../common/amqp/lifecycle.js';
import type { Logger } from '../../../common/logging/index.js';
import { waitFor } from '../../support/waiters.js';

/** A logger that records the messages it is given. */
function recorder(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const log = (a: unknown, b?: unknown) => {
    messages.push(typeof a === 'string' ? a : String(b));
  };
  const logger = {
    info: log,
    warn: log,
    error: log,
    debug: log,
    trace: log,
    fatal: log,
  } as unknown as Logger;
  return { logger, messages };
}

interface Session {
  conn: ChannelModel;
  channel: Channel;
  n: number;
}

describe('common/amqp lifecycle (real RabbitMQ)', function () {
  this.timeout(30_000);
  let link: AmqpLifecycle<Session> | undefined;

  afterEach(async () => {
    await link?.stop();
    link = undefined;
  });

  function open(url = process.env.AMQP_URL!, extra: { downs?: () => void } = {}) {
    const { logger, messages } = recorder();
    let setups = 0;
    const l = new AmqpLifecycle<Session>({
      url,
      connectionName: 'lifecycle-test',
      logger,
      timeoutMs: 2_000,
      backoffBaseMs: 50,
      backoffMaxMs: 200,
      setup: async (conn, lost) => {
        const channel = await conn.createChannel();
        channel.on('error', () => undefined);
        channel.on('close', lost);
        return { conn, channel, n: ++setups };
      },
      ...(extra.downs ? { onDown: extra.downs } : {}),
    });
    return { l, messages, setups: () => setups };
  }

  it('connects and sets up; a channel the broker closes is replaced by a new connection', async () => {
    let downs = 0;
    const t = open(undefined, { downs: () => downs++ });
    link = t.l;
    link.start();
    const first = await waitFor(() => link!.session, { what: 'connected' });
    expect(first.n).to.equal(1);
    // a passive check of a queue that does not exist: the broker closes the channel (404)
    await first.channel.checkQueue(`no-such-queue-${Date.now()}`).catch(() => undefined);
    const second = await waitFor(() => (link!.session?.n === 2 ? link!.session : undefined), {
      what: 'a new session after the channel was closed',
    });
    expect(second.conn).to.not.equal(first.conn);
    expect(downs).to.equal(1);
    expect(link.failures).to.equal(0);
    expect(t.messages).to.include('amqp connection lost');
  });

  it('reset() replaces the connection after the backoff; stop() closes it and never reconnects', async () => {
    const t = open();
    link = t.l;
    link.start();
    const first = await waitFor(() => link!.session, { what: 'connected' });
    let closed = false;
    first.conn.on('close', () => (closed = true));
    await link.reset();
    expect(closed).to.equal(true);
    expect(link.connected).to.equal(false);
    const second = await waitFor(() => link!.session, { what: 'reconnected after reset' });
    expect(second.n).to.equal(2);

    let seen: Session | undefined;
    await link.stop(async (s) => {
      seen = s;
    });
    expect(seen?.n).to.equal(2);
    expect(link.connected).to.equal(false);
    const before = t.setups();
    await new Promise((r) => setTimeout(r, 500)); // longer than the longest backoff
    expect(t.setups()).to.equal(before);
  });

  it('keeps retrying a broker that is not there, with backoff, and stops at once when asked', async () => {
    const t = open('amqp://guest:guest@127.0.0.1:1');
    link = t.l;
    link.start();
    await waitFor(() => link!.failures >= 3, { what: 'three failed attempts' });
    expect(link.connected).to.equal(false);
    expect(t.messages.filter((m) => m === 'amqp connect failed').length).to.be.at.least(3);
    const started = Date.now();
    await link.stop();
    expect(Date.now() - started).to.be.below(2_000);
    const attempts = t.messages.filter((m) => m === 'amqp connect failed').length;
    await new Promise((r) => setTimeout(r, 500));
    expect(t.messages.filter((m) => m === 'amqp connect failed').length).to.equal(attempts);
  });
});
