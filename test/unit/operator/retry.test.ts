/**
 * decide(): transient failures retried with backoff, permanent ones (bad input, usage, OOM) final,
 * and an admin's retry annotation re-running only what failed.
 */
import { expect } from 'chai';
import type { V1Job } from '@kubernetes/client-node';
import { ANNOTATIONS, type Video, type VideoStatus } from '../../../common/video/index.js';
import {
  decide,
  isPermanentFailure,
  retryDelayMs,
  type DecideSettings,
  type Observed,
} from '../../../operator/video/decide.js';
import { job, jobs, NOW, settings, UID, video } from './fixtures.js';

const S: DecideSettings = { jobs: settings, retry: { limit: 2, delaySeconds: 30 } };
const probed: VideoStatus = {
  phase: 'Processing',
  source: { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true },
  thumbnailKey: `${UID}/thumbnail.jpg`,
};
const at = (ms: number) => new Date(NOW.getTime() + ms);
const withUid = (j: V1Job, uid: string): V1Job => ({ ...j, metadata: { ...j.metadata, uid } });
const cond = (s: VideoStatus | undefined, t: string) => s?.conditions?.find((c) => c.type === t);
const types = (d: ReturnType<typeof decide>) =>
  d.actions.map((a) => (a.type === 'CreateJob' ? `CreateJob:${a.task}` : a.type));
const obs = (v: Video, o: Partial<Observed> = {}): Observed => ({
  video: v,
  jobs: new Map(),
  now: NOW,
  ...o,
});
const storageExit = new Map([
  ['demo-720p', { exitCode: 3, reason: 'Error', message: 'storage: ECONNREFUSED' }],
]);

describe('operator/video/decide: retries', () => {
  it('a transient failure (exit 3, storage) deletes the failed Job and schedules a retry; siblings keep running', () => {
    const failed = withUid(job('demo-720p', 'Failed'), 'uid-720-a');
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      failed,
      job('demo-1080p', undefined),
    );
    const d = decide(obs(video({}, {}, probed), { jobs: j, terminations: storageExit }), S);
    expect(d.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-720p'] }]);
    expect(d.status?.phase).to.equal('Processing');
    expect(cond(d.status, 'Failed')).to.equal(undefined);
    expect(cond(d.status, 'Ready')).to.include({ status: 'False', reason: 'Retrying' });
    expect(d.status?.retry).to.deep.equal({
      attempts: 1,
      notBefore: at(30_000).toISOString(),
      retiredJobs: ['uid-720-a'],
    });
    expect(d.requeueAfterMs).to.equal(30_000);
    expect(d.events).to.have.length(1);
    expect(d.events[0]).to.include({ type: 'Warning', reason: 'Retrying' });
    expect(d.events[0]!.message).to.match(
      /rendition 720p: storage: ECONNREFUSED; transient: retrying in 30 s \(retry 1 of 2\)/,
    );
  });

  it('waits out the backoff with the old Job ignored, then creates a new one', () => {
    const failed = withUid(job('demo-720p', 'Failed'), 'uid-720-a');
    const status: VideoStatus = {
      ...probed,
      retry: { attempts: 1, notBefore: at(30_000).toISOString(), retiredJobs: ['uid-720-a'] },
    };
    const base = [
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-1080p', undefined),
    ];
    // 10 s later, the deleted Job still in the cache: ignored, nothing created yet
    const waiting = decide(obs(video({}, {}, status), { jobs: jobs(...base, failed), now: at(10_000) }), S);
    expect(types(waiting)).to.deep.equal([]);
    expect(waiting.requeueAfterMs).to.equal(20_000);
    expect(waiting.status?.phase).to.equal('Processing');
    expect(waiting.status?.retry?.retiredJobs).to.deep.equal(['uid-720-a']);
    // backoff over, the old Job gone: a new Job, the retired uid forgotten
    const go = decide(obs(video({}, {}, status), { jobs: jobs(...base), now: at(31_000) }), S);
    expect(types(go)).to.deep.equal(['CreateJob:720p']);
    expect(go.status?.retry).to.deep.equal({ attempts: 1 });
  });

  it('past the limit a transient failure is final, and says how often it was retried', () => {
    const status: VideoStatus = { ...probed, retry: { attempts: 2 } };
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      withUid(job('demo-720p', 'Failed'), 'u3'),
      job('demo-1080p', 'Complete'),
    );
    const d = decide(
      obs(video({}, {}, status), {
        jobs: j,
        terminations: storageExit,
        terminationMessages: new Map([['demo-720p', 'storage: ECONNREFUSED']]),
      }),
      S,
    );
    expect(d.status?.phase).to.equal('Failed');
    expect(cond(d.status, 'Failed')).to.include({
      reason: 'JobFailed',
      message: 'rendition 720p: storage: ECONNREFUSED (after 2 automatic retries)',
    });
  });

  it('an OOM-killed transcoder fails the Video at once with a reason that says memory', () => {
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-720p', 'Complete'),
      withUid(job('demo-1080p', 'Failed'), 'u4'),
    );
    const d = decide(
      obs(video({}, {}, probed), {
        jobs: j,
        terminations: new Map([['demo-1080p', { exitCode: 137, reason: 'OOMKilled' }]]),
      }),
      S,
    );
    expect(d.status?.phase).to.equal('Failed');
    expect(cond(d.status, 'Failed')).to.include({ reason: 'OutOfMemory' });
    expect(cond(d.status, 'Failed')!.message).to.match(
      /rendition 1080p: the transcoder ran out of memory \(OOMKilled/,
    );
    expect(d.status?.retry).to.equal(undefined);
  });

  it('permanent and transient failures', () => {
    const failed = { state: 'Failed' as const, reason: 'BackoffLimitExceeded' };
    expect(isPermanentFailure({ state: 'Failed', reason: 'PodFailurePolicy' })).to.equal(true);
    expect(isPermanentFailure({ state: 'Failed', reason: 'DeadlineExceeded' })).to.equal(true);
    expect(isPermanentFailure(failed, { exitCode: 137, reason: 'OOMKilled' })).to.equal(true);
    expect(isPermanentFailure(failed, { exitCode: 64 })).to.equal(true);
    expect(isPermanentFailure(failed, { exitCode: 2 })).to.equal(true);
    expect(isPermanentFailure(failed, { exitCode: 3 })).to.equal(false);
    expect(isPermanentFailure(failed, { exitCode: 1 })).to.equal(false);
    expect(isPermanentFailure(failed, { exitCode: 137, reason: 'Error' })).to.equal(false); // killed, not OOM
    expect(isPermanentFailure(failed)).to.equal(false); // Pods deleted/evicted: no termination state
    expect([1, 2, 3, 10].map((n) => retryDelayMs({ limit: 9, delaySeconds: 30 }, n))).to.deep.equal([
      30_000, 60_000, 120_000, 600_000,
    ]);
  });

  it('without retry settings a transient failure is final (as before)', () => {
    const j = jobs(job('demo-thumbnail', 'Complete'), withUid(job('demo-480p', 'Failed'), 'u5'));
    const d = decide(obs(video({}, {}, probed), { jobs: j, terminations: storageExit }), { jobs: settings });
    expect(d.status?.phase).to.equal('Failed');
  });

  it('an admin retry (a new annotation value) re-runs only the failed rendition of a Failed Video', () => {
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      withUid(job('demo-720p', 'Failed'), 'u6'),
      job('demo-1080p', 'Complete'),
    );
    const oom = new Map([['demo-720p', { exitCode: 137, reason: 'OOMKilled' }]]);
    const failed = decide(obs(video({}, {}, probed), { jobs: j, terminations: oom }), S);
    expect(failed.status?.phase).to.equal('Failed');
    const annotated = video({ annotations: { [ANNOTATIONS.retry]: '1' } }, {}, failed.status);
    const d = decide(obs(annotated, { jobs: j }), S);
    expect(d.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-720p'] }]);
    expect(d.status?.phase).to.equal('Processing');
    expect(cond(d.status, 'Failed')).to.equal(undefined);
    expect(cond(d.status, 'Ready')).to.include({ reason: 'Retrying' });
    expect(d.status?.retry).to.deep.equal({ observedAnnotation: '1', retiredJobs: ['u6'] });
    expect(d.status?.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
      '480p:Succeeded',
      '720p:Pending',
      '1080p:Succeeded',
    ]);
    expect(d.events[0]).to.include({ type: 'Normal', reason: 'Retrying' });
    // next pass, the old Job gone: only 720p is created again
    const after = video({ annotations: { [ANNOTATIONS.retry]: '1' } }, {}, d.status);
    const j2 = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-1080p', 'Complete'),
    );
    const next = decide(obs(after, { jobs: j2 }), S);
    expect(types(next)).to.deep.equal(['CreateJob:720p']);
    // the same value again after another failure: no second retry
    const j3 = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      withUid(job('demo-720p', 'Failed'), 'u7'),
      job('demo-1080p', 'Complete'),
    );
    const again = decide(
      obs(video({ annotations: { [ANNOTATIONS.retry]: '1' } }, {}, next.status), {
        jobs: j3,
        terminations: oom,
      }),
      S,
    );
    expect(again.status?.phase).to.equal('Failed');
    const still = decide(
      obs(video({ annotations: { [ANNOTATIONS.retry]: '1' } }, {}, again.status), { jobs: j3 }),
      S,
    );
    expect(types(still)).to.deep.equal([]);
    expect(still.status?.phase).to.equal('Failed');
  });

  it('an admin retry of a Video whose source could not be probed starts over from the probe', () => {
    const j = jobs(withUid(job('demo-thumbnail', 'Failed', 'PodFailurePolicy', 'exit code 2'), 'u8'));
    const failed = decide(obs(video({}, {}, { phase: 'Processing' }), { jobs: j }), S);
    expect(failed.status?.phase).to.equal('Failed');
    const d = decide(
      obs(video({ annotations: { [ANNOTATIONS.retry]: 'x' } }, {}, failed.status), { jobs: j }),
      S,
    );
    expect(d.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-thumbnail'] }]);
    const next = decide(
      obs(video({ annotations: { [ANNOTATIONS.retry]: 'x' } }, {}, d.status), { jobs: new Map() }),
      S,
    );
    expect(types(next)).to.deep.equal([
      'CreateJob:thumbnail',
      'CreateJob:480p',
      'CreateJob:720p',
      'CreateJob:1080p',
    ]);
  });

  it('the annotation on a Video that has not failed is only recorded', () => {
    const j = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', undefined),
      job('demo-720p', undefined),
      job('demo-1080p', undefined),
    );
    const d = decide(obs(video({ annotations: { [ANNOTATIONS.retry]: '7' } }, {}, probed), { jobs: j }), S);
    expect(types(d)).to.deep.equal([]);
    expect(d.status?.retry).to.deep.equal({ observedAnnotation: '7' });
    expect(d.status?.phase).to.equal('Processing');
  });
});
