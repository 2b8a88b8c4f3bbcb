/**
 * Poison, duplicate and out-of-order status messages on the real RabbitMQ (issue 20 fault 9, issue
 * 21 item 14): a message that passes the schema but cannot be stored is dead-lettered after a few
 * deliveries and the queue goes on; a database outage is retried without limit (never dead-lettered);
 * the same message twice and messages out of order leave the row right; the classic queue of an
 * earlier version is drained into the catalog and deleted.
 */
import { expect } from 'chai';
import amqp from 'amqplib';
import { createLogger } from '../../../../common/logging/index.js';
import type { VideoStatusMessage } from '../../../../common/video/index.js';
import { deadLetterNames, StatusConsumer } from '../../../../api/infra/status-consumer.js';
import { waitFor } from '../../../support/waiters.js';
import { uniqueName } from '../../../support/kube.js';
import { createVideoResource, laterVersion, startHarness, statusMessage, type Harness } from './helpers.js';

const logger = createLogger('dead-letter-test', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });

async function withChannel<T>(fn: (ch: amqp.Channel) => Promise<T>): Promise<T> {
  const conn = await amqp.connect(process.env.AMQP_URL!);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return await fn(ch);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Whether a queue exists (checked on a channel of its own: a missing queue closes it). */
const queueExists = (name: string) =>
  withChannel(async (ch) => {
    try {
      await ch.checkQueue(name);
      return true;
    } catch {
      return false;
    }
  });

/**
 * Deadline of one wait: generous, for a machine under heavy load (a cold `make test` and other runs
 * share two cores); a passing run waits only as long as the work takes.
 */
const LOADED_MS = 90_000;

/** What a consumer has done so far, for the message of a wait that timed out. */
const consumerState = (c: StatusConsumer) =>
  `consumer connected=${c.connected} handled=${c.handled} deadLettered=${c.deadLettered}`;

/** For waitFor: "not yet", with what was seen (a thrown error is the last thing a timeout reports). */
const notYet = (seen: string): never => {
  throw new Error(seen);
};

describe('api catalog: poison, duplicate and out-of-order status messages', function () {
  this.timeout(3 * LOADED_MS);
  let h: Harness;

  before(async function () {
    h = await startHarness('deadletter', { AMQP_MAX_DELIVERIES: '3', AMQP_LEGACY_QUEUE: '' });
    h.catalog.consumer.start();
    await waitFor(() => h.catalog.consumer.connected, { what: 'the status consumer connected' });
  });
  after(async function () {
    await h?.close();
    if (h) await withChannel((ch) => ch.deleteQueue(deadLetterNames(h.config.AMQP_QUEUE).queue));
  });

  const rowOf = (uid: string) => h.Video.findOne({ where: { uid } });

  it('dead-letters a message that cannot be stored after AMQP_MAX_DELIVERIES tries, and goes on with the next', async function () {
    const poison = await createVideoResource(h, { title: 'Poison' });
    const good = await createVideoResource(h, { title: 'After the poison' });
    // Passes the schema (a non-empty string) but not PostgreSQL: the uid column is a uuid, so looking
    // the row up fails every time ("invalid input syntax for type uuid").
    const bad = statusMessage(poison, { phase: 'Processing', uid: `not-a-uuid-${poison.metadata.uid}` });
    const before = h.catalog.consumer.deadLettered;
    await h.publish(bad);
    await h.publish(statusMessage(good, { phase: 'Processing' }));
    await waitFor(() => rowOf(good.metadata.uid!), {
      timeoutMs: LOADED_MS,
      what: 'the message behind the poison applied',
    });
    await waitFor(
      () => h.catalog.consumer.deadLettered === before + 1 || notYet(consumerState(h.catalog.consumer)),
      {
        timeoutMs: LOADED_MS,
        what: 'the poison message dead-lettered',
      },
    );
    const dead = await withChannel(async (ch) => {
      const got = await ch.get(deadLetterNames(h.config.AMQP_QUEUE).queue, { noAck: true });
      return got || undefined;
    });
    expect(dead, 'a message in the dead-letter queue').to.not.equal(undefined);
    const body = JSON.parse(dead!.content.toString('utf8')) as VideoStatusMessage;
    expect(body.uid).to.equal(bad.uid);
    // the broker's own record: rejected from the status queue
    const death = (dead!.properties.headers?.['x-death'] as Array<{ queue: string; reason: string }>)?.[0];
    expect(death).to.include({ queue: h.config.AMQP_QUEUE, reason: 'rejected' });
    expect(await rowOf(poison.metadata.uid!)).to.equal(null);
  });

  it('the same message twice and messages out of order leave the row at the newest state', async function () {
    const video = await createVideoResource(h, { title: 'Shuffled' });
    const rv = video.metadata.resourceVersion!;
    const processing = statusMessage(video, { phase: 'Processing', resourceVersion: laterVersion(rv, 1) });
    const ready = statusMessage(video, { phase: 'Ready', resourceVersion: laterVersion(rv, 2) });
    await h.publish(ready);
    await h.publish(ready); // duplicate (same messageId)
    await h.publish(processing); // older, arrives late
    await h.publish(ready);
    const handledBefore = h.catalog.consumer.handled;
    const marker = await createVideoResource(h, { title: 'Marker' });
    await h.publish(statusMessage(marker, { phase: 'Pending', renditions: [] }));
    await waitFor(() => rowOf(marker.metadata.uid!), {
      timeoutMs: LOADED_MS,
      what: 'the marker behind the shuffled messages',
    });
    expect(h.catalog.consumer.handled).to.be.greaterThan(handledBefore);
    const row = await rowOf(video.metadata.uid!);
    expect(row?.phase).to.equal('Ready');
    expect(row?.resourceVersion).to.equal(laterVersion(rv, 2));
  });
});

describe('api status consumer: transient failures and the legacy queue', function () {
  this.timeout(3 * LOADED_MS);
  const suffix = uniqueName('q').slice(2);
  const exchange = `test.consumer.${suffix}`;
  const consumers: StatusConsumer[] = [];
  const sample = (n: number): VideoStatusMessage => ({
    namespace: 'ns',
    name: `v${n}`,
    uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    generation: 1,
    resourceVersion: String(n),
    phase: 'Processing',
    title: `t${n}`,
    description: '',
    category: '',
    renditions: [],
    observedAt: new Date().toISOString(),
    sequence: n,
  });
  const publish = async (msg: VideoStatusMessage) => {
    const conn = await amqp.connect(process.env.AMQP_URL!);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(exchange, 'topic', { durable: true });
      ch.publish(exchange, 'video.processing', Buffer.from(JSON.stringify(msg)), { persistent: true });
      await ch.waitForConfirms();
    } finally {
      await conn.close().catch(() => undefined);
    }
  };

  after(async function () {
    await Promise.all(consumers.map((c) => c.stop()));
    await withChannel(async (ch) => {
      for (const q of [`test.transient.${suffix}`, `test.new.${suffix}`])
        for (const name of [q, deadLetterNames(q).queue]) await ch.deleteQueue(name).catch(() => undefined);
      await ch.deleteExchange(exchange).catch(() => undefined);
    });
  });

  it('retries a message while the database is unavailable, past AMQP_MAX_DELIVERIES, without dead-lettering it', async function () {
    let failures = 0;
    const stored: string[] = [];
    const consumer = new StatusConsumer({
      url: process.env.AMQP_URL!,
      exchange,
      queue: `test.transient.${suffix}`,
      logger,
      maxDeliveries: 2,
      retryDelayMs: 50,
      isTransient: (err) => (err as Error).name === 'SequelizeConnectionRefusedError',
      handle: async (msg) => {
        if (failures < 5) {
          failures++;
          const err = new Error('connect ECONNREFUSED 127.0.0.1:5432');
          err.name = 'SequelizeConnectionRefusedError';
          throw err;
        }
        stored.push(msg.uid);
      },
    });
    consumers.push(consumer);
    consumer.start();
    await waitFor(() => consumer.connected, { timeoutMs: LOADED_MS, what: 'connected' });
    await publish(sample(1));
    await waitFor(
      () =>
        stored.length === 1 ||
        notYet(`${failures} failures, stored ${stored.length}, ${consumerState(consumer)}`),
      { timeoutMs: LOADED_MS, what: 'stored once the database is back' },
    );
    expect(failures).to.equal(5);
    expect(consumer.deadLettered).to.equal(0);
  });

  it('drains the classic queue of an earlier version into the catalog and deletes it (a queue cannot change its arguments in place)', async function () {
    const legacy = `test.legacy.${suffix}`;
    await withChannel(async (ch) => {
      await ch.assertExchange(exchange, 'topic', { durable: true });
      await ch.assertQueue(legacy, { durable: true });
      await ch.bindQueue(legacy, exchange, 'video.#');
    });
    await publish(sample(2));
    await publish(sample(3));
    // What an in-place upgrade would meet: the old queue with new arguments is refused.
    const refused = await withChannel(async (ch) =>
      ch
        .assertQueue(legacy, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
        .then(() => '')
        .catch((err: Error) => err.message),
    );
    expect(refused).to.match(/PRECONDITION_FAILED/);

    const stored: string[] = [];
    const consumer = new StatusConsumer({
      url: process.env.AMQP_URL!,
      exchange,
      queue: `test.new.${suffix}`,
      legacyQueue: legacy,
      logger,
      handle: async (msg) => {
        stored.push(msg.name);
      },
    });
    consumers.push(consumer);
    consumer.start();
    const seen = () => `stored [${stored.join(', ')}], ${consumerState(consumer)}`;
    await waitFor(() => (stored.includes('v2') && stored.includes('v3')) || notYet(seen()), {
      timeoutMs: LOADED_MS,
      what: 'the legacy messages applied',
    });
    await waitFor(async () => !(await queueExists(legacy)), {
      timeoutMs: LOADED_MS,
      what: 'the legacy queue deleted',
    });
    await publish(sample(4));
    await waitFor(() => stored.includes('v4') || notYet(seen()), {
      timeoutMs: LOADED_MS,
      what: 'new messages through the new queue',
    });
    expect(stored.filter((n) => n === 'v4')).to.have.length(1);
  });
});
