import { expect } from 'chai';
import { FINALIZER, type ProbeResult, type VideoStatus } from '../../../common/video/index.js';
import {
  decide,
  durationText,
  needsProbe,
  needsRenditionMetadata,
  failedJobs,
} from '../../../operator/video/decide.js';
import { cond, job, jobs, meta, NOW, obs, settings, stepper, types, UID, video } from './fixtures.js';

const S = { jobs: settings };
const probe1080: ProbeResult = { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true };
/** Runs decide and feeds its status back, as the API server would store it. */
const step = stepper(S);

describe('operator/video/decide', () => {
  it('a new Video: one pass adds the finalizer first, starts the Jobs and says what the cluster then sees', () => {
    const { d } = step(video({ finalizers: [] }));
    expect(types(d)).to.deep.equal([
      'AddFinalizer',
      'CreateJob:thumbnail',
      'CreateJob:480p',
      'CreateJob:720p',
      'CreateJob:1080p',
    ]);
    // no Pending step: the status written after these actions already shows the Jobs running
    expect(d.status?.phase).to.equal('Processing');
    expect(cond(d.status, 'Ready')).to.include({ status: 'False', reason: 'Probing', observedGeneration: 1 });
    expect(d.status?.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
      '480p:Running',
      '720p:Running',
      '1080p:Running',
    ]);
    expect(d.events.map((e) => e.reason)).to.not.include('Pending');
  });

  const skipFlag = (d: ReturnType<typeof decide>, task: string) => {
    const a = d.actions.find((x) => x.type === 'CreateJob' && x.task === task);
    if (a?.type !== 'CreateJob') throw new Error(`no CreateJob for ${task}`);
    return a.job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'SKIP_TALLER_THAN_SOURCE')
      ?.value;
  };
  const allRunning = () =>
    jobs(
      job('demo-thumbnail', undefined),
      job('demo-480p', undefined),
      job('demo-720p', undefined),
      job('demo-1080p', undefined),
    );

  describe('the source bucket (only the configured sources bucket)', () => {
    const SB = { jobs: settings, sourceBucket: 'videoflix-sources' };
    it('fails a Video naming another bucket with SourceNotAllowed, before any Job', () => {
      const v = video(
        {},
        { source: { bucket: 'videoflix-media', key: `${UID}/master.m3u8` } },
        { phase: 'Pending' },
      );
      const d = decide(obs(v), SB);
      expect(types(d)).to.deep.equal([]);
      expect(d.status?.phase).to.equal('Failed');
      expect(cond(d.status, 'Failed')).to.include({ status: 'True', reason: 'SourceNotAllowed' });
      expect(cond(d.status, 'Probed')).to.include({ status: 'False', reason: 'SourceNotAllowed' });
      expect(d.status?.message)
        .to.contain('"videoflix-media" is not allowed')
        .and.contain('"videoflix-sources"');
      expect(d.events).to.deep.include({
        type: 'Warning',
        reason: 'SourceNotAllowed',
        message: d.status?.message,
      });
      // and stays Failed without creating anything on the next pass
      const again = decide(obs({ ...v, status: d.status! }), SB);
      expect(types(again)).to.deep.equal([]);
      expect(again.status?.phase).to.equal('Failed');
    });
    it('stops Jobs a Video naming another bucket already has', () => {
      const v = video({}, { source: { bucket: 'other', key: 'k' } }, { phase: 'Processing' });
      const d = decide(obs(v, { jobs: allRunning() }), SB);
      expect(types(d)).to.deep.equal(['DeleteJobs']);
      expect(d.status?.phase).to.equal('Failed');
    });
    it('lets the sources bucket through, and checks nothing when no bucket is configured', () => {
      expect(types(decide(obs(video({}, {}, { phase: 'Pending' })), SB))).to.include('CreateJob:thumbnail');
      const other = video({}, { source: { bucket: 'other', key: 'k' } }, { phase: 'Pending' });
      expect(types(decide(obs(other), S))).to.include('CreateJob:thumbnail');
    });
  });

  it('then starts every requested rendition Job with the thumbnail/probe Job, not after the probe', () => {
    const { d } = step(video({}, {}, { phase: 'Pending' }));
    expect(types(d)).to.deep.equal([
      'CreateJob:thumbnail',
      'CreateJob:480p',
      'CreateJob:720p',
      'CreateJob:1080p',
    ]);
    // the lowest requested rung is always kept; the others skip themselves when taller than the source
    expect(skipFlag(d, '480p')).to.equal(undefined);
    expect(skipFlag(d, '720p')).to.equal('1');
    expect(skipFlag(d, '1080p')).to.equal('1');
    expect(d.status?.phase).to.equal('Processing');
    expect(cond(d.status, 'Probed')).to.include({ status: 'Unknown', reason: 'Probing' });
    expect(d.status?.renditions).to.deep.equal([
      { name: '480p', phase: 'Running', job: 'demo-480p' },
      { name: '720p', phase: 'Running', job: 'demo-720p' },
      { name: '1080p', phase: 'Running', job: 'demo-1080p' },
    ]);
    // the total is unknown until the probe: the Renditions column stays empty as before
    expect(d.status?.renditionsSummary).to.equal(undefined);
    expect(d.events.map((e) => e.reason)).to.deep.equal([
      'JobCreated',
      'JobCreated',
      'JobCreated',
      'JobCreated',
    ]);
  });

  it('only the requested renditions; the lowest requested one carries no skip flag', () => {
    const { d } = step(video({}, { renditions: ['1080p', '720p'] }, { phase: 'Pending' }));
    expect(types(d)).to.deep.equal(['CreateJob:thumbnail', 'CreateJob:720p', 'CreateJob:1080p']);
    expect(skipFlag(d, '720p')).to.equal(undefined);
    expect(skipFlag(d, '1080p')).to.equal('1');
  });

  it('does not create a Job that already exists (deterministic names)', () => {
    const { d } = step(video(), { jobs: allRunning() });
    expect(d.actions).to.deep.equal([]);
    expect(d.status?.phase).to.equal('Processing');
    expect(d.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Running', 'Running', 'Running']);
  });

  it('is idempotent: the same observation again creates and deletes nothing, and says the same', () => {
    const first = step(video({}, {}, { phase: 'Pending' }));
    const created = jobs(
      ...first.d.actions.map((a) => (a.type === 'CreateJob' ? a.job : job('none', undefined))),
    );
    const second = step(first.next, { jobs: created });
    expect(second.d.actions).to.deep.equal([]);
    const third = decide(obs(second.next, { jobs: created }), S);
    expect(third.actions).to.deep.equal([]);
    expect(third.events).to.deep.equal([]);
    expect(third.status).to.deep.equal(second.d.status);
  });

  it('a rendition Job that ends before the probe counts only once the source is known', () => {
    const j = jobs(
      job('demo-thumbnail', undefined),
      job('demo-480p', 'Complete'),
      job('demo-720p', 'Failed'),
      job('demo-1080p', undefined),
    );
    const { d } = step(video(), { jobs: j });
    expect(d.actions).to.deep.equal([]);
    expect(d.status?.phase).to.equal('Processing');
    expect(d.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Running', 'Running', 'Running']);
    expect(needsRenditionMetadata(video(), j)).to.equal(false);
  });

  it('after the probe: a rung taller than the source is recorded Skipped and its Job deleted', () => {
    const running = video({}, {}, { phase: 'Processing' });
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', undefined),
      job('demo-720p', undefined),
      job('demo-1080p', 'Complete'), // it skipped itself (SKIP_TALLER_THAN_SOURCE): exit 0, nothing written
    );
    const { d, next } = step(running, { jobs: j, probe: { ok: { ...probe1080, height: 720, width: 1280 } } });
    expect(d.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-1080p'] }]);
    expect(d.status?.renditions).to.deep.equal([
      { name: '480p', phase: 'Running', job: 'demo-480p' },
      { name: '720p', phase: 'Running', job: 'demo-720p' },
      { name: '1080p', phase: 'Skipped', message: 'taller than the 720p source' },
    ]);
    expect(d.status?.renditionsSummary).to.equal('0/2');
    expect(d.events.map((e) => e.reason)).to.deep.equal(['Probed', 'JobsCancelled']);
    // next pass: the Job is gone (or still terminating): nothing recreated, nothing deleted twice
    j.delete('demo-1080p');
    const again = decide(obs(next, { jobs: j }), S);
    expect(again.actions).to.deep.equal([]);
    expect(again.status?.renditions).to.deep.equal(d.status?.renditions);
    const terminating = jobs(...j.values(), {
      ...job('demo-1080p', undefined),
      metadata: { name: 'demo-1080p', deletionTimestamp: NOW },
    });
    expect(decide(obs(next, { jobs: terminating }), S).actions).to.deep.equal([]);
    // and the master waits for the two selected renditions only
    const done = jobs(job('demo-480p', 'Complete'), job('demo-720p', 'Complete'));
    expect(needsRenditionMetadata(next, done)).to.equal(true);
  });

  it('a taller rung still encoding when the probe arrives is deleted too', () => {
    const { d } = step(video(), {
      jobs: jobs(
        job('demo-thumbnail', 'Complete'),
        job('demo-480p', undefined),
        job('demo-720p', undefined),
        job('demo-1080p', undefined),
      ),
      probe: { ok: { ...probe1080, height: 480, width: 854 } },
    });
    expect(d.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-1080p', 'demo-720p'] }]);
    expect(d.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Running', 'Skipped', 'Skipped']);
    expect(d.status?.phase).to.equal('Processing');
  });

  it('an unreadable source: Failed with the probe reason, no retry, its rendition Jobs deleted', () => {
    const unreadable = 'source unreadable: Invalid data found when processing input';
    const j = jobs(
      job('demo-thumbnail', 'Failed', 'PodFailurePolicy', 'exit code 2'),
      job('demo-480p', 'Failed', 'PodFailurePolicy', 'exit code 2'),
      job('demo-720p', undefined),
      job('demo-1080p', undefined),
    );
    expect(failedJobs(video(), j)).to.deep.equal(['demo-thumbnail', 'demo-480p']);
    const { d, next } = step(video({}, {}, { phase: 'Processing' }), {
      jobs: j,
      terminationMessages: new Map([
        ['demo-thumbnail', unreadable],
        ['demo-480p', unreadable],
      ]),
    });
    expect(d.status?.phase).to.equal('Failed');
    expect(cond(d.status, 'Failed')).to.include({
      status: 'True',
      reason: 'InvalidSource',
      message: `thumbnail/probe: ${unreadable}`,
    });
    expect(d.actions).to.deep.equal([
      { type: 'DeleteJobs', names: ['demo-1080p', 'demo-480p', 'demo-720p'] },
    ]);
    expect(d.status?.renditions).to.deep.equal([
      { name: '480p', phase: 'Failed', job: 'demo-480p', message: `rendition 480p: ${unreadable}` },
      { name: '720p', phase: 'Skipped', message: 'not encoded: the source could not be probed' },
      { name: '1080p', phase: 'Skipped', message: 'not encoded: the source could not be probed' },
    ]);
    expect(d.events.filter((e) => e.type === 'Warning').map((e) => e.reason)).to.deep.equal([
      'InvalidSource',
    ]);
    // the rendition Jobs are gone: nothing recreated, the status stays, no second Warning
    const again = decide(obs(next, { jobs: jobs(job('demo-thumbnail', 'Failed', 'PodFailurePolicy')) }), S);
    expect(again.actions).to.deep.equal([]);
    expect(again.events).to.deep.equal([]);
    expect(again.status).to.deep.equal(d.status);
  });

  it('reads the probe only once the thumbnail Job completed', () => {
    expect(needsProbe(video(), jobs(job('demo-thumbnail', undefined)))).to.equal(false);
    expect(needsProbe(video(), jobs(job('demo-thumbnail', 'Complete')))).to.equal(true);
    expect(
      needsProbe(video({}, {}, { source: { height: 720 } }), jobs(job('demo-thumbnail', 'Complete'))),
    ).to.equal(false);
  });

  it('after the probe: records the source and creates one Job per rendition no taller than it', () => {
    const { d } = step(video(), {
      jobs: jobs(job('demo-thumbnail', 'Complete')),
      probe: { ok: { ...probe1080, height: 720, width: 1280 } },
    });
    expect(types(d)).to.deep.equal(['CreateJob:480p', 'CreateJob:720p']);
    expect(d.status?.source).to.deep.equal({ durationSeconds: 30, width: 1280, height: 720, hasAudio: true });
    expect(d.status?.thumbnailKey).to.equal(`${UID}/thumbnail.jpg`);
    expect(d.status?.durationText).to.equal('30s');
    expect(d.status?.renditions).to.deep.equal([
      { name: '480p', phase: 'Running', job: 'demo-480p' },
      { name: '720p', phase: 'Running', job: 'demo-720p' },
      { name: '1080p', phase: 'Skipped', message: 'taller than the 720p source' },
    ]);
    expect(d.status?.renditionsSummary).to.equal('0/2');
    expect(cond(d.status, 'Probed')).to.include({ status: 'True', reason: 'Probed' });
  });

  it('a source smaller than every rung still gets the lowest requested rendition', () => {
    const { d } = step(video({}, { renditions: ['720p', '1080p'] }), {
      jobs: jobs(job('demo-thumbnail', 'Complete')),
      probe: { ok: { ...probe1080, width: 320, height: 240 } },
    });
    expect(types(d)).to.deep.equal(['CreateJob:720p']);
  });

  it('a probe without a video stream fails the Video', () => {
    const { d } = step(video(), {
      jobs: jobs(job('demo-thumbnail', 'Complete')),
      probe: { ok: { ...probe1080, width: 0, height: 0 } },
    });
    expect(d.status?.phase).to.equal('Failed');
    expect(cond(d.status, 'Failed')).to.include({ status: 'True', reason: 'InvalidSource' });
    expect(d.actions).to.deep.equal([]);
  });

  it('a missing probe.json fails with StorageError', () => {
    const { d } = step(video(), {
      jobs: jobs(job('demo-thumbnail', 'Complete')),
      probe: { error: 'x/probe.json not found' },
    });
    expect(cond(d.status, 'Failed')).to.include({ status: 'True', reason: 'StorageError' });
  });

  const probed: VideoStatus = {
    phase: 'Processing',
    source: { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true },
    thumbnailKey: `${UID}/thumbnail.jpg`,
  };

  it('waits while renditions run, counting the finished ones', () => {
    const v = video({}, {}, probed);
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-720p', undefined),
      job('demo-1080p', undefined),
    );
    const { d } = step(v, { jobs: j });
    expect(d.actions).to.deep.equal([]);
    expect(d.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Succeeded', 'Running', 'Running']);
    expect(d.status?.renditionsSummary).to.equal('1/3');
    expect(d.status?.phase).to.equal('Processing');
    expect(cond(d.status, 'Ready')).to.include({ status: 'False', reason: 'Transcoding' });
    expect(needsRenditionMetadata(v, j)).to.equal(false);
  });

  it('never redoes a finished rendition, even when its Job is gone', () => {
    const v = video(
      {},
      {},
      { ...probed, renditions: [{ name: '480p', phase: 'Succeeded', job: 'demo-480p' }] },
    );
    const { d } = step(v, { jobs: jobs(job('demo-720p', undefined), job('demo-1080p', undefined)) });
    expect(types(d)).to.deep.equal([]);
    expect(d.status?.renditions?.[0]?.phase).to.equal('Succeeded');
  });

  it('all renditions done: checks alignment, writes the master once, then Ready', () => {
    const v = video({}, {}, probed);
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-720p', 'Complete'),
      job('demo-1080p', 'Complete'),
    );
    expect(needsRenditionMetadata(v, j)).to.equal(true);
    const { d, next } = step(v, { jobs: j, metadata: { ok: [meta('480p'), meta('720p'), meta('1080p')] } });
    expect(types(d)).to.deep.equal(['WriteMaster']);
    const write = d.actions[0] as { key: string; body: string };
    expect(write.key).to.equal(`${UID}/master.m3u8`);
    expect(write.body.match(/#EXT-X-STREAM-INF/g)).to.have.length(3);
    expect(d.status?.phase).to.equal('Ready');
    expect(d.status?.masterPlaylistKey).to.equal(`${UID}/master.m3u8`);
    expect(cond(d.status, 'Ready')).to.include({ status: 'True', reason: 'Ready', observedGeneration: 1 });
    expect(cond(d.status, 'Transcoded')).to.include({ status: 'True' });
    expect(d.events.map((e) => e.reason)).to.deep.equal(['PlaylistWritten', 'Ready']);
    // Second pass: nothing more to do, nothing read, status unchanged.
    expect(needsRenditionMetadata(next, j)).to.equal(false);
    const again = decide(obs(next, { jobs: j }), S);
    expect(again.actions).to.deep.equal([]);
    expect(again.status).to.deep.equal(d.status);
    expect(again.events).to.deep.equal([]);
  });

  it('misaligned segments fail the Video instead of writing a master', () => {
    const j = jobs(job('demo-480p', 'Complete'), job('demo-720p', 'Complete'), job('demo-1080p', 'Complete'));
    const { d } = step(video({}, {}, probed), {
      jobs: j,
      metadata: { ok: [meta('480p'), meta('720p', [0, 6, 13]), meta('1080p')] },
    });
    expect(types(d)).to.deep.equal([]);
    expect(cond(d.status, 'Failed')).to.include({ status: 'True', reason: 'SegmentsMisaligned' });
  });

  it('a Job failed past its limit fails the Video with the transcoder reason and a Warning', () => {
    const j = jobs(job('demo-480p', 'Complete'), job('demo-720p', 'Failed'), job('demo-1080p', undefined));
    expect(failedJobs(video(), j)).to.deep.equal(['demo-720p']);
    const { d, next } = step(video({}, {}, probed), {
      jobs: j,
      terminationMessages: new Map([['demo-720p', 'storage error: upload refused']]),
    });
    expect(d.status?.phase).to.equal('Failed');
    expect(d.status?.message).to.equal('rendition 720p: storage error: upload refused');
    expect(cond(d.status, 'Failed')).to.include({
      status: 'True',
      reason: 'JobFailed',
      message: 'rendition 720p: storage error: upload refused',
    });
    expect(cond(d.status, 'Ready')).to.include({ status: 'False', reason: 'JobFailed' });
    expect(d.status?.renditions?.[1]).to.include({ name: '720p', phase: 'Failed' });
    expect(d.events.filter((e) => e.type === 'Warning')).to.deep.equal([
      { type: 'Warning', reason: 'JobFailed', message: 'rendition 720p: storage error: upload refused' },
    ]);
    // the rendition still encoding cannot be used any more: its Job goes
    expect(d.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-1080p'] }]);
    // Sticky: no new Jobs, no second Warning.
    const again = decide(
      obs(next, { jobs: jobs(job('demo-480p', 'Complete'), job('demo-720p', 'Failed')) }),
      S,
    );
    expect(again.actions).to.deep.equal([]);
    expect(again.events.filter((e) => e.type === 'Warning')).to.deep.equal([]);
    expect(again.status?.phase).to.equal('Failed');
  });

  it('without a termination message the Job condition message is the reason; FailJob means InvalidSource', () => {
    const j = jobs(
      job(
        'demo-thumbnail',
        'Failed',
        'PodFailurePolicy',
        'Container transcoder for pod x failed with exit code 2',
      ),
    );
    const { d } = step(video(), { jobs: j });
    expect(cond(d.status, 'Failed')).to.include({
      reason: 'InvalidSource',
      message: 'thumbnail/probe: Container transcoder for pod x failed with exit code 2',
    });
    expect(cond(d.status, 'Probed')).to.include({ status: 'False' });
  });

  it('a running sibling of a failed rendition is not recreated', () => {
    const v = video({}, {}, probed);
    const { d } = step(v, { jobs: jobs(job('demo-480p', 'Failed')) });
    expect(types(d)).to.deep.equal([]);
  });

  it('deletion: stops the Jobs first, waits for their Pods, then removes media and the finalizer', () => {
    const deleting = video({ deletionTimestamp: NOW.toISOString() });
    const withJobs = decide(
      obs(deleting, { jobs: jobs(job('demo-720p', undefined), job('demo-thumbnail', 'Complete')) }),
      S,
    );
    expect(withJobs.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-720p', 'demo-thumbnail'] }]);
    expect(withJobs.requeueAfterMs).to.be.greaterThan(0);
    const podsLeft = decide(obs(deleting, { remainingPods: 1 }), S);
    expect(podsLeft.actions).to.deep.equal([]);
    expect(podsLeft.requeueAfterMs).to.be.greaterThan(0);
    const d = decide(obs(deleting, { remainingPods: 0 }), S);
    expect(types(d)).to.deep.equal(['CleanupMedia', 'RemoveFinalizer']);
    expect(d.status).to.equal(undefined);
    const gone = decide(obs(video({ deletionTimestamp: NOW.toISOString(), finalizers: ['other'] })), S);
    expect(gone.actions).to.deep.equal([]);
  });

  it('tracks the generation: a title change only bumps observedGeneration', () => {
    const v = video({ generation: 2 }, {}, { ...probed, observedGeneration: 1 });
    const { d } = step(v, {
      jobs: jobs(job('demo-480p', undefined), job('demo-720p', undefined), job('demo-1080p', undefined)),
    });
    expect(d.status?.observedGeneration).to.equal(2);
    expect(d.actions).to.deep.equal([]);
  });

  it('puts a lost finalizer back before anything else, in the same pass as the rest', () => {
    const v = video({ finalizers: ['someone/else'] }, {}, { phase: 'Processing' });
    const d = decide(obs(v), S);
    expect(types(d)[0]).to.equal('AddFinalizer');
    expect(types(d).slice(1)).to.deep.equal([
      'CreateJob:thumbnail',
      'CreateJob:480p',
      'CreateJob:720p',
      'CreateJob:1080p',
    ]);
    expect(v.metadata.finalizers).to.not.include(FINALIZER);
  });

  it('durationText is Go style', () => {
    expect([0, 45, 125, 3723.4].map(durationText)).to.deep.equal(['0s', '45s', '2m5s', '1h2m3s']);
  });
});
