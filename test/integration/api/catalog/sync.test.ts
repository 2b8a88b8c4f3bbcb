/**
 * Keeping the catalog in step with the operator on the host tier: status messages through the real
 * RabbitMQ (published by the test, as the operator would), Video objects in the real API server
 * (created by the test, as kubectl would), rows in the real PostgreSQL.
 */
import { expect } from 'chai';
import { ANNOTATIONS } from '../../../../common/video/index.js';
import { isSharedHostEnv, startRabbit, stopRabbit } from '../../../support/hostenv.js';
import { waitFor } from '../../../support/waiters.js';
import {
  createVideoResource,
  laterVersion,
  listVideos,
  startHarness,
  statusMessage,
  type Harness,
} from './helpers.js';

describe('api catalog: status consumer and resync', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    h = await startHarness('sync');
    h.catalog.consumer.start();
    await waitFor(() => h.catalog.consumer.connected, { what: 'the status consumer connected' });
  });
  after(async function () {
    await h?.close();
  });

  const rowOf = (uid: string) => h.Video.findOne({ where: { uid } });

  it('creates a row from the first message of a Video it did not know, and upserts later ones', async function () {
    const video = await createVideoResource(h, { title: 'From messages' });
    const uid = video.metadata.uid!;
    await h.publish(statusMessage(video, { phase: 'Pending', renditions: [] }));
    const row = await waitFor(() => rowOf(uid), { what: 'the row of the first message' });
    expect(row).to.deep.include({
      phase: 'Pending',
      title: 'From messages',
      namespace: h.namespace,
      name: video.metadata.name,
    });

    const rv = laterVersion(video.metadata.resourceVersion!, 5);
    await h.publish(statusMessage(video, { phase: 'Processing', resourceVersion: rv }));
    await waitFor(async () => (await rowOf(uid))?.phase === 'Processing', { what: 'Processing applied' });
    const processing = await rowOf(uid);
    expect(processing!.resourceVersion).to.equal(rv);
    expect(processing!.renditions).to.deep.equal([{ name: '480p', phase: 'Running' }]);
    expect(await h.Video.count({ where: { uid } })).to.equal(1);
  });

  it('ignores stale and replayed messages (older resourceVersion, same one again)', async function () {
    const video = await createVideoResource(h, { title: 'Staleness' });
    const uid = video.metadata.uid!;
    const rv = video.metadata.resourceVersion!;
    const ready = statusMessage(video, { phase: 'Ready', resourceVersion: laterVersion(rv, 10) });
    await h.publish(ready);
    await waitFor(async () => (await rowOf(uid))?.phase === 'Ready', { what: 'Ready applied' });
    const handled = h.catalog.consumer.handled;
    // an older Processing (delivered late), then the same Ready again (at-least-once replay)
    await h.publish(statusMessage(video, { phase: 'Processing', resourceVersion: laterVersion(rv, 3) }));
    await h.publish({ ...ready, phase: 'Failed', message: 'replayed with the same version' });
    await waitFor(() => h.catalog.consumer.handled >= handled + 2, {
      what: 'both messages handled (and acknowledged)',
    });
    const row = await rowOf(uid);
    expect(row!.phase).to.equal('Ready');
    expect(row!.error).to.equal(null);
    expect(row!.masterPlaylistKey).to.equal(`${uid}/master.m3u8`);
  });

  it('links a message to the row the upload created through the catalog-id annotation', async function () {
    const row = await h.catalog.service.beginUpload({ title: 'Uploaded', description: '', category: '' });
    const video = await createVideoResource(h, { title: 'Uploaded', catalogId: row.id });
    await h.publish(
      statusMessage(video, {
        phase: 'Processing',
        resourceVersion: laterVersion(video.metadata.resourceVersion!),
      }),
    );
    await waitFor(async () => (await h.Video.findByPk(row.id))?.uid === video.metadata.uid, {
      what: 'the upload row claimed',
    });
    expect((await h.Video.findByPk(row.id))!.phase).to.equal('Processing');
    expect(await h.Video.count({ where: { uid: video.metadata.uid! } })).to.equal(1);
  });

  it('drops a message that is not a status message and goes on with the next', async function () {
    const video = await createVideoResource(h, { title: 'After garbage' });
    await h.publish({ hello: 'world' } as never, 'video.ready');
    await h.publish(statusMessage(video, { phase: 'Pending', renditions: [] }));
    await waitFor(() => rowOf(video.metadata.uid!), { what: 'the message after the garbage' });
  });

  it('keeps messages in its durable queue while the API is not consuming', async function () {
    await h.catalog.consumer.stop();
    const video = await createVideoResource(h, { title: 'While away' });
    await h.publish(
      statusMessage(video, {
        phase: 'Processing',
        resourceVersion: laterVersion(video.metadata.resourceVersion!),
      }),
    );
    expect(await rowOf(video.metadata.uid!)).to.equal(null);
    h.catalog.consumer.start();
    await waitFor(async () => (await rowOf(video.metadata.uid!))?.phase === 'Processing', {
      what: 'the queued message applied after restart',
    });
  });

  it('survives a broker restart: reconnects and applies what comes next', async function () {
    if (isSharedHostEnv()) this.skip(); // would cut the broker off under every other run using it
    const video = await createVideoResource(h, { title: 'Broker outage' });
    await stopRabbit();
    try {
      await waitFor(() => !h.catalog.consumer.connected, { what: 'the consumer noticing the outage' });
    } finally {
      await startRabbit();
    }
    await waitFor(() => h.catalog.consumer.connected, {
      timeoutMs: 30_000,
      what: 'the consumer reconnected',
    });
    await h.publish(
      statusMessage(video, {
        phase: 'Ready',
        resourceVersion: laterVersion(video.metadata.resourceVersion!, 2),
      }),
    );
    await waitFor(async () => (await rowOf(video.metadata.uid!))?.phase === 'Ready', {
      timeoutMs: 15_000,
      what: 'Ready after the outage',
    });
  });

  it('removes the row from view on video.deleted, and a replayed older message does not bring it back', async function () {
    const video = await createVideoResource(h, { title: 'Deleted' });
    const uid = video.metadata.uid!;
    const ready = statusMessage(video, {
      phase: 'Ready',
      resourceVersion: laterVersion(video.metadata.resourceVersion!, 4),
    });
    await h.publish(ready);
    await waitFor(async () => (await rowOf(uid))?.phase === 'Ready', { what: 'Ready' });
    await h.publish({ ...ready, sequence: ready.sequence + 1, deleted: true }, 'video.deleted');
    await waitFor(async () => (await rowOf(uid))?.phase === 'Deleted', { what: 'the tombstone' });
    const handled = h.catalog.consumer.handled;
    await h.publish({
      ...ready,
      sequence: ready.sequence + 2,
      resourceVersion: laterVersion(ready.resourceVersion, 9),
    });
    await waitFor(() => h.catalog.consumer.handled > handled, { what: 'the replay handled' });
    expect((await rowOf(uid))!.phase).to.equal('Deleted');
    const list = await h.t.agent().get('/api/video/').set('Cookie', h.userCookie);
    expect(list.body.map((v: { title: string }) => v.title)).to.not.include('Deleted');
    const admin = await h.t.agent().get('/api/admin/videos/').set('Cookie', h.adminCookie);
    expect(admin.body.map((v: { title: string }) => v.title)).to.not.include('Deleted');
  });

  it('resync: picks up a Video created with kubectl that no message announced, and repairs a row that missed one', async function () {
    await h.catalog.consumer.stop(); // nothing but the resync this time
    const applied = await createVideoResource(h, { title: 'Applied with kubectl' });
    expect(await rowOf(applied.metadata.uid!)).to.equal(null);
    const result = await h.catalog.service.resync();
    expect(result.resources).to.equal((await listVideos(h)).length);
    const row = await rowOf(applied.metadata.uid!);
    expect(row).to.not.equal(null);
    expect(row!).to.deep.include({
      title: 'Applied with kubectl',
      phase: 'Pending',
      category: 'Docs',
      description: 'from yaml',
      resourceVersion: applied.metadata.resourceVersion,
    });
    // a second resync with nothing new changes nothing
    const again = await h.catalog.service.resync();
    expect(again.applied).to.equal(0);
    h.catalog.consumer.start();
  });

  it('resync: marks rows whose resource is gone and removes uploads a crashed process left behind', async function () {
    const video = await createVideoResource(h, { title: 'Gone while we slept' });
    await h.catalog.service.applyUpdate({
      source: 'resync',
      namespace: h.namespace,
      name: video.metadata.name!,
      uid: video.metadata.uid!,
      phase: 'Ready',
      title: 'Gone while we slept',
      description: '',
      category: '',
      renditions: [],
      resourceVersion: video.metadata.resourceVersion!,
    });
    await h.custom.deleteNamespacedCustomObject({
      group: 'media.videoflix.io',
      version: 'v1beta1',
      namespace: h.namespace,
      plural: 'videos',
      name: video.metadata.name!,
    });
    const stuck = await h.catalog.service.beginUpload({
      title: 'Crashed upload',
      description: '',
      category: '',
    });
    await h.s3.putObject(h.sources, stuck.sourceKey!, Buffer.from('partial'));
    await h.db.sequelize.query('UPDATE videos SET updated_at = $1 WHERE id = $2', {
      bind: [new Date(Date.now() - 2 * h.config.UPLOAD_STALE_SECONDS * 1000), stuck.id],
    });
    // a fresh upload in progress must be left alone
    const fresh = await h.catalog.service.beginUpload({
      title: 'Uploading now',
      description: '',
      category: '',
    });
    // ...and so must a multipart upload under way (the resync aborts only those older than
    // UPLOAD_STALE_SECONDS: security/timeouts.test.ts moves the clock for that)
    const running = await h.s3.initiateNewMultipartUpload(h.sources, `${fresh.sourceKey}`, {});
    await new Promise((r) => setImmediate(r));
    const result = await h.catalog.service.resync();
    expect(result.markedDeleted).to.be.greaterThanOrEqual(1);
    expect(result.staleUploadsRemoved).to.equal(1);
    expect(result.incompleteUploadsAborted).to.equal(0);
    const listed = await h.s3.listIncompleteUploadsQuery(h.sources, '', '', '', '');
    expect(listed.uploads.map((u) => u.uploadId)).to.deep.equal([running]);
    await h.s3.abortMultipartUpload(h.sources, fresh.sourceKey!, running);
    expect((await rowOf(video.metadata.uid!))!.phase).to.equal('Deleted');
    expect(await h.Video.findByPk(stuck.id)).to.equal(null);
    expect(
      await h.s3.statObject(h.sources, stuck.sourceKey!).then(
        () => 'exists',
        () => 'gone',
      ),
    ).to.equal('gone');
    expect((await h.Video.findByPk(fresh.id))!.phase).to.equal('Uploading');

    // the tombstone stays until it is older than CATALOG_TOMBSTONE_SECONDS, then the resync purges it
    const tomb = (await rowOf(video.metadata.uid!))!;
    expect((await h.catalog.service.resync()).tombstonesPurged).to.equal(0);
    await h.db.sequelize.query('UPDATE videos SET updated_at = $1 WHERE id = $2', {
      bind: [new Date(Date.now() - 2 * h.config.CATALOG_TOMBSTONE_SECONDS * 1000), tomb.id],
    });
    expect((await h.catalog.service.resync()).tombstonesPurged).to.equal(1);
    expect(await h.Video.findByPk(tomb.id)).to.equal(null);
  });

  it('resync links a Video whose upload crashed after creating it (annotation → row)', async function () {
    const row = await h.catalog.service.beginUpload({
      title: 'Crashed before linking',
      description: '',
      category: '',
    });
    const video = await createVideoResource(h, { title: 'Crashed before linking', catalogId: row.id });
    expect(video.metadata.annotations?.[ANNOTATIONS.catalogId]).to.equal(String(row.id));
    await h.catalog.service.resync();
    const linked = await h.Video.findByPk(row.id);
    expect(linked!.uid).to.equal(video.metadata.uid);
    expect(linked!.phase).to.equal('Pending');
  });
});
