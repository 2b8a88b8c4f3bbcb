/** Status messages on the real RabbitMQ: one per phase change, at least once, also across an outage. */
import { expect } from 'chai';
import { GROUP, PLURAL, VERSION, ANNOTATIONS, keys } from '../../../common/video/index.js';
import { createLogger } from '../../../common/logging/index.js';
import { StatusPublisher } from '../../../operator/video/publish.js';
import { startRabbit, stopRabbit } from '../../support/hostenv.js';
import { createTestNamespace, uniqueName } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  StatusConsumer,
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  ensureTranscoderServiceAccount,
  failJob,
  getVideo,
  makeBuckets,
  s3,
  startOperator,
  videoGone,
  waitJobs,
  waitPhase,
  writeProbe,
  writeRendition,
  type RunningOperator,
  dropNamespace,
} from './helpers.js';

describe('operator status messages (RabbitMQ topic exchange)', function () {
  this.timeout(120_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator | undefined;
  let publisher: StatusPublisher | undefined;
  let consumer: StatusConsumer | undefined;
  let exchange: string;

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
  });

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'op-mq');
    await ensureTranscoderServiceAccount(core, ns);
    exchange = uniqueName('videoflix-status-test');
    consumer = new StatusConsumer(exchange);
    await consumer.connect();
    publisher = new StatusPublisher({
      url: process.env.AMQP_URL!,
      exchange,
      logger: createLogger('publisher-test', { level: process.env.OPERATOR_TEST_LOG ?? 'silent' }),
      backoffBaseMs: 100,
      backoffMaxMs: 500,
      confirmTimeoutMs: 3_000,
    });
    publisher.start();
    op = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      sink: publisher,
    });
  });

  afterEach(async () => {
    await op?.stop();
    await publisher?.stop(1_000);
    await consumer?.close();
    await dropNamespace(kc, custom, ns);
  });

  async function probeAndTranscode(name: string, uid: string) {
    await writeProbe(storage, buckets.media, uid, {
      durationSeconds: 8,
      width: 854,
      height: 480,
      hasAudio: true,
    });
    await completeJob(batch, ns, `${name}-thumbnail`);
    await waitJobs(batch, ns, [`${name}-480p`]);
    await writeRendition(storage, buckets.media, uid, '480p', [0, 6]);
    await completeJob(batch, ns, `${name}-480p`);
  }

  it('publishes each phase change with its routing key, then video.deleted', async () => {
    await createVideo(
      custom,
      ns,
      'news',
      { source: { bucket: buckets.sources, key: 'news.mp4' }, category: 'News', description: 'd' },
      { [ANNOTATIONS.catalogId]: '42' },
    );
    await waitJobs(batch, ns, ['news-thumbnail']);
    const uid = (await getVideo(custom, ns, 'news')).metadata.uid!;
    await probeAndTranscode('news', uid);
    await waitPhase(custom, ns, 'news', 'Ready');
    await waitFor(() => consumer!.phases(uid).includes('Ready'), {
      what: 'Ready message',
      timeoutMs: 10_000,
    });
    expect(consumer!.phases(uid)).to.deep.equal(['Processing', 'Ready']);

    const mine = consumer!.messages.filter((m) => m.body.uid === uid);
    expect([...new Set(mine.map((m) => m.routingKey))]).to.deep.equal(['video.processing', 'video.ready']);
    // The first pass's one status write (finalizer, Jobs, status in one decision) already shows
    // the Jobs it created as Running, as the unit tests of decide() say.
    const first = mine[0]!.body;
    expect(first.phase).to.equal('Processing');
    expect(first.renditions).to.have.length.greaterThan(0);
    expect(first.renditions.map((r) => r.phase)).to.satisfy((p: string[]) => p.every((x) => x === 'Running'));
    const ready = mine.find((m) => m.body.phase === 'Ready')!.body;
    expect(ready).to.include({
      namespace: ns,
      name: 'news',
      uid,
      catalogId: 42,
      title: 'Video news',
      category: 'News',
      description: 'd',
      masterPlaylistKey: keys.master(uid),
      thumbnailKey: keys.thumbnail(uid),
      durationSeconds: 8,
    });
    expect(ready.renditions.map((r) => [r.name, r.phase])).to.deep.equal([
      ['480p', 'Succeeded'],
      ['720p', 'Skipped'],
      ['1080p', 'Skipped'],
    ]);
    const seq = mine.map((m) => m.body.sequence);
    expect(seq).to.deep.equal([...seq].sort((a, b) => a - b));

    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'news',
    });
    await waitFor(() => videoGone(custom, ns, 'news'), { what: 'Video gone' });
    await waitFor(
      () => consumer!.messages.find((m) => m.body.uid === uid && m.routingKey === 'video.deleted'),
      { what: 'video.deleted' },
    );
  });

  it('publishes Failed', async () => {
    await createVideo(custom, ns, 'bad', { source: { bucket: buckets.sources, key: 'bad.mp4' } });
    await waitJobs(batch, ns, ['bad-thumbnail']);
    const uid = (await getVideo(custom, ns, 'bad')).metadata.uid!;
    await failJob(batch, ns, 'bad-thumbnail', 'PodFailurePolicy', 'exit code 2');
    await waitFor(() => consumer!.phases(uid).includes('Failed'), { what: 'Failed message' });
    expect(consumer!.phases(uid)).to.deep.equal(['Processing', 'Failed']);
    const failed = consumer!.messages.find((m) => m.body.uid === uid && m.body.phase === 'Failed')!;
    expect(failed.routingKey).to.equal('video.failed');
    expect(failed.body.message).to.contain('exit code 2');
  });

  it('keeps messages while the broker is down and delivers them when it is back', async () => {
    await createVideo(custom, ns, 'outage', { source: { bucket: buckets.sources, key: 'outage.mp4' } });
    await waitJobs(batch, ns, ['outage-thumbnail']);
    const uid = (await getVideo(custom, ns, 'outage')).metadata.uid!;
    await waitFor(() => consumer!.phases(uid).includes('Processing'), {
      what: 'Processing message before the outage',
    });

    consumer!.forget();
    await stopRabbit();
    try {
      await probeAndTranscode('outage', uid);
      await waitPhase(custom, ns, 'outage', 'Ready');
      // The Ready message waits in the outbox; the operator keeps reconciling meanwhile.
      await waitFor(() => publisher!.size >= 1, { what: 'a message held in the outbox' });
      expect(publisher!.connected).to.equal(false);
    } finally {
      await startRabbit();
    }
    await consumer!.connect();
    await waitFor(() => consumer!.phases(uid).includes('Ready'), {
      timeoutMs: 30_000,
      what: 'Ready message after the outage',
    });
    expect(consumer!.phases(uid)).to.deep.equal(['Processing', 'Ready']);
    await waitFor(() => publisher!.size === 0, { what: 'an empty outbox' });
  });
  it('a crash during an outage loses the outbox, but the next leader publishes the current status', async () => {
    await createVideo(custom, ns, 'crash', { source: { bucket: buckets.sources, key: 'crash.mp4' } });
    await waitJobs(batch, ns, ['crash-thumbnail']);
    const uid = (await getVideo(custom, ns, 'crash')).metadata.uid!;
    await waitFor(() => consumer!.phases(uid).includes('Processing'), {
      what: 'Processing before the outage',
    });
    consumer!.forget();
    await stopRabbit();
    try {
      await probeAndTranscode('crash', uid);
      await waitPhase(custom, ns, 'crash', 'Ready');
      await waitFor(() => publisher!.size >= 1, { what: 'Ready held in the outbox' });
      // The process dies: its outbox is gone with it.
      await op!.stop();
      op = undefined;
      await publisher!.stop(0);
    } finally {
      await startRabbit();
    }
    await consumer!.connect();
    publisher = new StatusPublisher({
      url: process.env.AMQP_URL!,
      exchange,
      logger: createLogger('publisher-test-2', { level: process.env.OPERATOR_TEST_LOG ?? 'silent' }),
      backoffBaseMs: 100,
      backoffMaxMs: 500,
    });
    publisher.start();
    op = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      sink: publisher,
    });
    await waitFor(() => consumer!.phases(uid).includes('Ready'), {
      timeoutMs: 30_000,
      what: 'Ready from the new leader',
    });
    const ready = consumer!.messages.find((m) => m.body.uid === uid && m.body.phase === 'Ready')!.body;
    expect(ready.masterPlaylistKey).to.equal(keys.master(uid));
  });
});
