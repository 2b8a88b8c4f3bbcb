/**
 * A message goes through the private RabbitMQ with amqplib: published with publisher confirms to
 * a durable topic exchange, routed to a bound queue, consumed and acknowledged. Then the broker is
 * stopped and started again (stopRabbit/startRabbit): same port, and a persistent message in a
 * durable queue survives.
 */
import crypto from 'node:crypto';
import amqp from 'amqplib';
import { expect } from 'chai';
import { isSharedHostEnv, startRabbit, stopRabbit } from '../../support/hostenv.js';
import { waitFor } from '../../support/waiters.js';

describe('foundation: RabbitMQ with amqplib', function () {
  const id = crypto.randomBytes(4).toString('hex');
  const exchange = `foundation.${id}`;
  const queue = `foundation.${id}.q`;
  let conn: amqp.ChannelModel | undefined;

  afterEach(async function () {
    await conn?.close().catch(() => undefined);
    conn = undefined;
  });

  after(async function () {
    const c = await amqp.connect(process.env.AMQP_URL ?? '');
    const ch = await c.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteExchange(exchange);
    await c.close();
  });

  it('publishes with confirms, routes, consumes and acks', async function () {
    conn = await amqp.connect(process.env.AMQP_URL ?? '');
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true });
    await ch.bindQueue(queue, exchange, 'video.*.status');

    const body = { videoId: id, phase: 'Ready' };
    await new Promise<void>((resolve, reject) => {
      ch.publish(
        exchange,
        'video.42.status',
        Buffer.from(JSON.stringify(body)),
        { persistent: true, contentType: 'application/json', messageId: id },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
    // not routed: no binding matches
    ch.publish(exchange, 'video.42.other', Buffer.from('{}'));
    await ch.waitForConfirms();

    const received = await new Promise<amqp.ConsumeMessage>((resolve) => {
      void ch.consume(queue, (msg) => {
        if (msg) resolve(msg);
      });
    });
    expect(received.fields.routingKey).to.equal('video.42.status');
    expect(received.properties.messageId).to.equal(id);
    expect(JSON.parse(received.content.toString())).to.deep.equal(body);
    ch.ack(received);
    await ch.cancel(received.fields.consumerTag);

    const check = await waitFor(
      async () => {
        const q = await ch.checkQueue(queue);
        return q.messageCount === 0 && q.consumerCount === 0 ? q : undefined;
      },
      { timeoutMs: 5000, what: `queue ${queue} empty after the ack` },
    );
    expect(check.messageCount).to.equal(0);
  });

  it('survives a broker outage (stopRabbit/startRabbit) with durable data', async function () {
    this.timeout(120_000);
    if (isSharedHostEnv()) this.skip(); // would cut the broker off under every other run using it
    const url = process.env.AMQP_URL ?? '';
    conn = await amqp.connect(url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true });
    ch.sendToQueue(queue, Buffer.from('kept'), { persistent: true });
    await ch.waitForConfirms();

    const closed = new Promise<void>((resolve) => conn?.once('close', () => resolve()));
    conn.on('error', () => undefined);
    await stopRabbit();
    await closed; // the client notices the outage
    conn = undefined;
    const refused = await amqp.connect(url).then(
      async (c) => {
        await c.close();
        return false;
      },
      () => true,
    );
    expect(refused, 'connecting while the broker is down must fail').to.equal(true);

    await startRabbit();
    conn = await amqp.connect(url);
    const ch2 = await conn.createChannel();
    const msg = await waitFor(async () => (await ch2.get(queue, { noAck: false })) || undefined, {
      timeoutMs: 10_000,
      what: `the persistent message in ${queue}`,
    });
    expect(msg.content.toString()).to.equal('kept');
    ch2.ack(msg);
  });
});
