/**
 * Re-transcoding on purpose (host tier: real kube-apiserver and Job controller, versitygw; the test
 * plays the transcoders): a rung added to a Ready Video's spec.renditions creates exactly one new Job,
 * never re-runs a finished one, keeps the Video Ready (the catalog keeps it playable with the rungs it
 * had) and rewrites master.m3u8 with the new rung once it is done. A shrinking ladder is refused.
 */
import { expect } from 'chai';
import { GROUP, PLURAL, VERSION, keys, type RenditionName } from '../../../common/video/index.js';
import { MemorySink } from '../../../operator/video/publish.js';
import { apiStatus } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  MERGE,
  PROBE_1080,
  completeJob,
  createVideo,
  driveToReady,
  getVideo,
  ownedJobs,
  readText,
  waitJobs,
  waitPhase,
  writeRendition,
  useOperatorSuite,
} from './helpers.js';

describe('operator: a ladder that grows (host tier)', function () {
  this.timeout(90_000);
  const suite = useOperatorSuite('ladder');
  const { custom, batch, storage } = suite;

  it('adds 1080p to a Ready 480p+720p Video: one new Job, still Ready meanwhile, the master rewritten with 1080p', async () => {
    const sink = new MemorySink();
    const op = await suite.start({ sink, progress: { writeIntervalMs: 200 } });
    const ladder: RenditionName[] = ['480p', '720p'];
    await createVideo(custom, suite.ns, 'grow', {
      source: { bucket: suite.buckets.sources, key: 'up/grow.mp4' },
      renditions: ladder,
    });
    const uid = await driveToReady(
      { custom, batch, storage, mediaBucket: suite.buckets.media },
      suite.ns,
      'grow',
      ladder,
      PROBE_1080,
    );
    const ready = await waitPhase(custom, suite.ns, 'grow', 'Ready');
    expect(ready.status?.renditionsSummary).to.equal('2/2');
    const master1 = await readText(storage, suite.buckets.media, keys.master(uid));
    expect(master1).to.contain('RESOLUTION=1280x720').and.not.contain('RESOLUTION=1920x1080');
    const uidsBefore = new Map(
      (await ownedJobs(batch, suite.ns)).map((j) => [j.metadata!.name!, j.metadata!.uid!]),
    );
    expect([...uidsBefore.keys()].sort()).to.deep.equal(['grow-480p', 'grow-720p', 'grow-thumbnail']);
    const sent = sink.messages.length;

    // a shrinking ladder is refused by the CRD
    const patch = (renditions: RenditionName[]) =>
      custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: suite.ns,
          plural: PLURAL,
          name: 'grow',
          body: { spec: { renditions } },
        },
        MERGE,
      );
    const refused = await patch(['480p']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(apiStatus(refused)).to.equal(422);
    expect(String((refused as { body?: unknown }).body)).to.contain('spec.renditions may only grow');

    // the admin adds 1080p
    await patch(['480p', '720p', '1080p']);
    await waitJobs(batch, suite.ns, ['grow-1080p']);
    const running = await waitFor(
      async () => {
        const v = await getVideo(custom, suite.ns, 'grow');
        return v.status?.observedGeneration === 2 ? v : undefined;
      },
      { what: 'generation 2 observed' },
    );
    const cond = (t: string) => running.status?.conditions?.find((c) => c.type === t);
    expect(running.status?.phase).to.equal('Ready');
    expect(cond('Ready')).to.include({ status: 'True', observedGeneration: 2 });
    expect(cond('Transcoded')).to.include({ status: 'Unknown', reason: 'Transcoding' });
    expect(running.status?.renditionsSummary).to.equal('2/3');
    expect(running.status?.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
      '480p:Succeeded',
      '720p:Succeeded',
      '1080p:Running',
    ]);
    // exactly one new Job; the others are the very same (same uids), none re-run
    const during = await ownedJobs(batch, suite.ns);
    expect(during.map((j) => j.metadata!.name!).sort()).to.deep.equal([
      'grow-1080p',
      'grow-480p',
      'grow-720p',
      'grow-thumbnail',
    ]);
    for (const j of during)
      if (uidsBefore.has(j.metadata!.name!))
        expect(j.metadata!.uid).to.equal(uidsBefore.get(j.metadata!.name!));
    // the new rung's progress reports are recorded although the Video is Ready
    const report = {
      uid,
      rendition: '1080p' as const,
      percent: 40,
      encodedSeconds: 12,
      durationSeconds: 30,
      speed: 2,
      etaSeconds: 9,
      at: new Date().toISOString(),
    };
    expect(op.controller.recordProgress(report)).to.equal(true);
    expect(op.controller.recordProgress({ ...report, rendition: '480p' }), 'a finished rung').to.equal(false);
    await waitFor(
      async () =>
        (await getVideo(custom, suite.ns, 'grow')).status?.renditions?.find((r) => r.name === '1080p')
          ?.progress?.percent === 40,
      { what: '1080p progress recorded' },
    );
    // the old master still serves the two rungs
    expect(await readText(storage, suite.buckets.media, keys.master(uid))).to.equal(master1);

    // the 1080p transcoder finishes
    await writeRendition(storage, suite.buckets.media, uid, '1080p');
    await completeJob(batch, suite.ns, 'grow-1080p');
    const done = await waitFor(
      async () => {
        const v = await getVideo(custom, suite.ns, 'grow');
        const t = v.status?.conditions?.find((c) => c.type === 'Transcoded');
        return t?.status === 'True' && t.observedGeneration === 2 ? v : undefined;
      },
      { what: 'Transcoded=True for generation 2' },
    );
    expect(done.status?.phase).to.equal('Ready');
    expect(done.status?.renditionsSummary).to.equal('3/3');
    const master2 = await readText(storage, suite.buckets.media, keys.master(uid));
    for (const res of ['854x480', '1280x720', '1920x1080']) expect(master2).to.contain(`RESOLUTION=${res}`);
    expect((await ownedJobs(batch, suite.ns)).map((j) => j.metadata!.uid).sort()).to.deep.equal(
      [...uidsBefore.values(), during.find((j) => j.metadata!.name === 'grow-1080p')!.metadata!.uid].sort(),
    );

    // the catalog's view: Ready throughout (playable), the last message lists the three rungs
    const after = sink.messages.slice(sent).map((m) => m.message);
    expect(after.length).to.be.greaterThan(0);
    expect(after.map((m) => m.phase)).to.satisfy((ps: string[]) => ps.every((p) => p === 'Ready'));
    expect(after.at(-1)?.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
      '480p:Succeeded',
      '720p:Succeeded',
      '1080p:Succeeded',
    ]);
  });
});
