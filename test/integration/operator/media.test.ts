/**
 * A Ready Video whose media disappeared does not keep claiming Ready (issue 20): the operator's media
 * auditor HEADs each processed Video's master playlist; when it is gone the Video gets
 * MediaAvailable=False (MediaMissing, naming the object), Ready=False, phase Failed, a Warning Event and a
 * status message for the catalog; when the playlist is back, it is Ready again. The host tier's real
 * kube-apiserver and versitygw; the auditor paced fast (a sweep every 200 ms) so the test waits little.
 */
import { expect } from 'chai';
import { CONDITION_TYPES, findCondition, keys, type Video } from '../../../common/video/index.js';
import { MemorySink } from '../../../operator/video/publish.js';
import { createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  applyVideoCrd,
  clients,
  createVideo,
  driveToReady,
  dropNamespace,
  ensureTranscoderServiceAccount,
  eventsFor,
  getVideo,
  makeBuckets,
  readText,
  s3,
  startOperator,
  waitPhase,
  type RunningOperator,
} from './helpers.js';

describe('operator: media auditor (a Ready Video whose media disappeared)', function () {
  this.timeout(60_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator | undefined;

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
    ns = await createTestNamespace(kc, 'media');
    await ensureTranscoderServiceAccount(core, ns);
  });
  after(async () => {
    await op?.stop();
    await dropNamespace(kc, custom, ns);
  });

  const mediaCondition = (v: Video) => findCondition(v.status?.conditions, CONDITION_TYPES.mediaAvailable);

  /** Throws (for waitFor: "not yet", and what it last saw). */
  const fail = (message: string): never => {
    throw new Error(message);
  };

  it('sets MediaAvailable=False and Ready=False when the master playlist is gone, and Ready again when it is back', async () => {
    const sink = new MemorySink();
    op = await startOperator({
      namespace: ns,
      mediaBucket: buckets.media,
      sourceBucket: buckets.sources,
      sink,
      mediaCheck: { intervalMs: 200, perSecond: 50 },
    });
    await createVideo(custom, ns, 'gone', { source: { bucket: buckets.sources, key: 'uploads/gone.mp4' } });
    const uid = await driveToReady(
      { custom, batch, storage, mediaBucket: buckets.media },
      ns,
      'gone',
      ['480p'],
      { durationSeconds: 30, width: 854, height: 480, hasAudio: true },
    );
    const ready = await waitPhase(custom, ns, 'gone', 'Ready');
    const phaseMessages = (phase: string) =>
      sink.messages.filter((m) => m.message.uid === uid && m.message.phase === phase);
    const published = () =>
      sink.messages
        .filter((m) => m.message.uid === uid)
        .map((m) => `${m.message.phase}#${m.message.sequence}`)
        .join(', ') || 'none';
    const masterKey = keys.master(uid);
    expect(ready.status?.masterPlaylistKey).to.equal(masterKey);
    const master = await readText(storage, buckets.media, masterKey);
    // a few sweeps with the playlist there change nothing: no MediaAvailable condition, still Ready
    const checks = () => op!.controller.metrics.mediaChecks.get();
    await waitFor(
      async () => (await checks()).values.some((v) => v.labels.result === 'found' && v.value >= 2),
      { what: 'two media checks that found the playlist' },
    );
    const still = await getVideo(custom, ns, 'gone');
    expect(still.status?.phase).to.equal('Ready');
    expect(mediaCondition(still)).to.equal(undefined);
    const readyBefore = await waitFor(
      () => phaseMessages('Ready')[0] ?? fail(`published so far: ${published()}`),
      { what: 'the Ready status message before the outage', timeoutMs: 30_000 },
    );

    // the media go (a lost volume, a bucket emptied by hand)
    await storage.removeObject(buckets.media, masterKey);
    const missing = await waitPhase(custom, ns, 'gone', 'Failed');
    const mc = mediaCondition(missing)!;
    expect(mc).to.include({ status: 'False', reason: 'MediaMissing' });
    expect(mc.message).to.equal(`Media missing: ${buckets.media}/${masterKey} not found in object storage`);
    const readyCond = findCondition(missing.status?.conditions, CONDITION_TYPES.ready)!;
    expect(readyCond).to.include({ status: 'False', reason: 'MediaMissing', message: mc.message });
    // not the sticky Failed condition: nothing to retry, it comes back by itself
    expect(findCondition(missing.status?.conditions, CONDITION_TYPES.failed)).to.equal(undefined);
    expect(missing.status?.message).to.equal(mc.message);
    const warning = await waitFor(
      async () =>
        (await eventsFor(core, ns, 'gone')).find((e) => e.reason === 'MediaMissing' && e.type === 'Warning'),
      { what: 'a MediaMissing Warning Event' },
    );
    expect(warning.message).to.include(masterKey);
    // the catalog hears of it: a status message leaving Ready, with the reason
    // (published once the status write has returned to the operator: maybe a moment after the
    // status read above showed it)
    const failedMsg = await waitFor(
      () => phaseMessages('Failed').at(-1) ?? fail(`published so far: ${published()}`),
      { what: 'a Failed status message', timeoutMs: 30_000 },
    );
    expect(failedMsg.routingKey).to.equal('video.failed');
    expect(failedMsg.message.message).to.equal(mc.message);

    // the media return (restored): Ready again, MediaAvailable=True
    await storage.putObject(buckets.media, masterKey, Buffer.from(master), undefined, {
      'Content-Type': 'application/vnd.apple.mpegurl',
    });
    const back = await waitPhase(custom, ns, 'gone', 'Ready');
    expect(mediaCondition(back)).to.include({ status: 'True', reason: 'MediaAvailable' });
    expect(findCondition(back.status?.conditions, CONDITION_TYPES.ready)?.status).to.equal('True');
    const readyAgain = await waitFor(
      () =>
        phaseMessages('Ready').find((m) => m.message.sequence > failedMsg.message.sequence) ??
        fail(`published so far: ${published()}`),
      { what: 'a Ready status message after the Failed one', timeoutMs: 30_000 },
    );
    expect(readyAgain.routingKey).to.equal(readyBefore.routingKey);
  });
});
