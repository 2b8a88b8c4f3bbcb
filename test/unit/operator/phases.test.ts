/** decide()'s phases, each on its own: the part of the decision it returns. */
import { expect } from 'chai';
import {
  CONDITION_TYPES,
  DEFAULT_LADDER,
  FINALIZER,
  type Video,
  type VideoStatus,
} from '../../../common/video/index.js';
import type { Observed, Pass } from '../../../operator/video/decide.js';
import { deletion, finalizer } from '../../../operator/video/phases/lifecycle.js';
import { probePhase } from '../../../operator/video/phases/probe.js';
import { publishPhase } from '../../../operator/video/phases/publish.js';
import { cancellations, renditionsPhase } from '../../../operator/video/phases/renditions.js';
import { retryPhase } from '../../../operator/video/phases/retry.js';
import { summaryPhase } from '../../../operator/video/phases/summary.js';
import { job, jobs, meta, NOW, settings, UID, video } from './fixtures.js';

const S = { jobs: settings };
const probed: VideoStatus = {
  phase: 'Processing',
  source: { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true },
};
const obs = (v: Video, o: Partial<Observed> = {}): Observed => ({
  video: v,
  jobs: new Map(),
  now: NOW,
  ...o,
});
const pass = (v: Video, o: Partial<Observed> = {}, waitMs = 0): Pass => {
  const observed = obs(v, o);
  return {
    o: observed,
    settings: S,
    video: v,
    old: v.status ?? {},
    ladder: DEFAULT_LADDER,
    uid: UID,
    jobs: observed.jobs,
    waitMs,
  };
};
const tasks = (p: { actions: Array<{ type: string; task?: string }> }) =>
  p.actions.map((a) => (a.type === 'CreateJob' ? a.task : a.type));

describe('operator/video/phases', () => {
  describe('deletion', () => {
    const gone = (o: Partial<Observed> = {}, fin = [FINALIZER]) =>
      deletion(obs(video({ deletionTimestamp: NOW.toISOString(), finalizers: fin }), o));
    it('is no part of a live Video', () => expect(deletion(obs(video()))).to.equal(undefined));
    it('stops the Jobs first, then waits for their Pods, then removes the media and the finalizer', () => {
      expect(gone({ jobs: jobs(job('demo-480p', undefined)) })).to.include({ requeueAfterMs: 1_000 });
      expect(gone({ jobs: jobs(job('demo-480p', undefined)) })?.actions).to.deep.equal([
        { type: 'DeleteJobs', names: ['demo-480p'] },
      ]);
      expect(gone({ remainingPods: 2 })).to.deep.equal({ actions: [], events: [], requeueAfterMs: 1_000 });
      expect(gone()?.actions).to.deep.equal([{ type: 'CleanupMedia' }, { type: 'RemoveFinalizer' }]);
      expect(gone({}, ['other'])).to.deep.equal({ actions: [], events: [] });
    });
  });

  describe('finalizer', () => {
    it('adds ours when it is missing, and nothing when it is there', () => {
      expect(finalizer(video({ finalizers: ['other'] }))).to.deep.equal([{ type: 'AddFinalizer' }]);
      expect(finalizer(video())).to.deep.equal([]);
    });
  });

  describe('retry', () => {
    it('leaves out the Jobs a retry retired, and keeps only those still present in status.retry', () => {
      const retired = { ...job('demo-480p', 'Failed'), metadata: { name: 'demo-480p', uid: 'old' } };
      const v = video({}, {}, { ...probed, retry: { retiredJobs: ['old', 'long-gone'] } });
      const r = retryPhase(obs(v, { jobs: jobs(retired) }), S);
      expect([...r.jobs.keys()]).to.deep.equal([]);
      expect(r.retry.retiredJobs).to.deep.equal(['old']);
      expect(r.decision).to.equal(undefined);
    });
    it('reports the backoff still to wait', () => {
      const notBefore = new Date(NOW.getTime() + 5_000).toISOString();
      const r = retryPhase(obs(video({}, {}, { ...probed, retry: { attempts: 1, notBefore } })), S);
      expect(r.waitMs).to.equal(5_000);
    });
    it('starts an automatic retry of a transient failure as the whole decision', () => {
      const failed = { ...job('demo-480p', 'Failed'), metadata: { name: 'demo-480p', uid: 'u1' } };
      const r = retryPhase(obs(video({}, {}, probed), { jobs: jobs(failed) }), {
        ...S,
        retry: { limit: 1, delaySeconds: 10 },
      });
      expect(r.decision?.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-480p'] }]);
      expect(r.decision?.status?.retry).to.include({ attempts: 1 });
      expect(r.decision?.requeueAfterMs).to.equal(10_000);
    });
  });

  describe('probe', () => {
    it('creates the thumbnail/probe Job, or none while a backoff runs', () => {
      const p = probePhase(pass(video()), undefined);
      expect(tasks(p)).to.deep.equal(['thumbnail']);
      expect(p.conditions[0]).to.include({ type: CONDITION_TYPES.probed, status: 'Unknown' });
      const waiting = probePhase(pass(video(), {}, 1_000), undefined);
      expect(tasks(waiting)).to.deep.equal([]);
      expect(waiting.waiting).to.equal(true);
    });
    it('records the source from probe.json once the Job completed', () => {
      const p = probePhase(
        pass(video(), {
          jobs: jobs(job('demo-thumbnail', 'Complete')),
          probe: { ok: { durationSeconds: 65, width: 1280, height: 720, hasAudio: false } },
        }),
        undefined,
      );
      expect(p.probed).to.deep.equal({
        source: { durationSeconds: 65, width: 1280, height: 720, hasAudio: false },
        durationText: '1m5s',
        thumbnailKey: `${UID}/thumbnail.jpg`,
      });
      expect(p.failure).to.equal(undefined);
    });
    it('fails on a source without a video stream, and does nothing once the source is known', () => {
      const p = probePhase(
        pass(video(), {
          jobs: jobs(job('demo-thumbnail', 'Complete')),
          probe: { ok: { durationSeconds: 5, width: 0, height: 0, hasAudio: true } },
        }),
        undefined,
      );
      expect(p.failure).to.deep.equal({ reason: 'InvalidSource', message: 'the source has no video stream' });
      expect(probePhase(pass(video({}, {}, probed)), undefined)).to.deep.equal({
        actions: [],
        events: [],
        conditions: [],
      });
    });
  });

  describe('renditions', () => {
    it('before the probe: one Job per requested rung, each Running once created', () => {
      const r = renditionsPhase(pass(video()), 0, undefined);
      expect(tasks(r)).to.deep.equal(['480p', '720p', '1080p']);
      expect(r.renditions.map((x) => x.phase)).to.deep.equal(['Running', 'Running', 'Running']);
      expect(r.selected).to.equal(undefined);
    });
    it('after the probe: the rungs taller than the source are Skipped and their Jobs cancelled', () => {
      const running = jobs(
        job('demo-480p', 'Complete'),
        job('demo-720p', undefined),
        job('demo-1080p', undefined),
      );
      const r = renditionsPhase(pass(video({}, {}, probed), { jobs: running }), 720, undefined);
      expect(r.renditions.map((x) => `${x.name}:${x.phase}`)).to.deep.equal([
        '480p:Succeeded',
        '720p:Running',
        '1080p:Skipped',
      ]);
      expect(r).to.include({ done: 1 });
      expect(r.selected).to.deep.equal(['480p', '720p']);
      expect(r.cancel).to.deep.equal(['demo-1080p']);
    });
    it('a failed rendition Job fails the Video; a failed Video cancels every Job still running', () => {
      const j = jobs(job('demo-480p', 'Failed'), job('demo-720p', undefined), job('demo-1080p', undefined));
      const p = pass(video({}, {}, probed), { jobs: j });
      const r = renditionsPhase(p, 1080, undefined);
      expect(r.failure?.reason).to.equal('JobFailed');
      const c = cancellations(p, r.cancel, r.failure);
      expect(c.actions).to.deep.equal([{ type: 'DeleteJobs', names: ['demo-1080p', 'demo-720p'] }]);
      expect(c.events[0]?.message).to.contain('the Video failed');
    });
  });

  describe('publish', () => {
    const all = jobs(job('demo-480p', 'Complete'));
    it('writes master.m3u8 once every selected rendition is done and aligned', () => {
      const p = publishPhase(
        pass(video({}, {}, probed), { jobs: all, metadata: { ok: [meta('480p')] } }),
        { selected: 1, done: 1 },
        undefined,
      );
      expect(p.actions.map((a) => a.type)).to.deep.equal(['WriteMaster']);
      expect(p.masterPlaylistKey).to.equal(`${UID}/master.m3u8`);
      expect(p.conditions[0]).to.include({ type: CONDITION_TYPES.transcoded, status: 'True' });
    });
    it('fails on misaligned segments, and waits while renditions run', () => {
      const metas = { ok: [meta('480p', [0, 6, 12]), meta('720p', [0, 4, 12])] };
      const p = publishPhase(
        pass(video({}, {}, probed), { metadata: metas }),
        { selected: 2, done: 2 },
        undefined,
      );
      expect(p.failure?.reason).to.equal('SegmentsMisaligned');
      const w = publishPhase(pass(video({}, {}, probed)), { selected: 2, done: 1 }, undefined);
      expect(w.actions).to.deep.equal([]);
      expect(w.conditions[0]).to.include({ status: 'Unknown', message: '1/2 renditions done' });
    });
  });

  describe('summary', () => {
    const base = { renditions: [], probed: true, attempts: 0, renditionsSummary: '0/2' };
    it('a new failure: Failed and Ready=False with one Warning, naming the automatic retries', () => {
      const s = summaryPhase(pass(video({}, {}, probed)), {
        ...base,
        attempts: 2,
        failure: { reason: 'JobFailed', message: 'rendition 480p: boom' },
      });
      expect(s.message).to.equal('rendition 480p: boom (after 2 automatic retries)');
      expect(s.conditions.map((c) => `${c.type}=${c.status}`)).to.deep.equal(['Failed=True', 'Ready=False']);
      expect(s.events.map((e) => e.type)).to.deep.equal(['Warning']);
    });
    it('Ready once the master playlist exists; Transcoding or Probing before', () => {
      const ready = summaryPhase(pass(video({}, {}, probed)), {
        ...base,
        masterPlaylistKey: `${UID}/master.m3u8`,
        renditions: [{ name: '480p', phase: 'Succeeded' }],
      });
      expect(ready.message).to.equal('Ready: 480p');
      expect(ready.remove).to.deep.equal(['Failed']);
      expect(summaryPhase(pass(video()), base).message).to.equal('Transcoding: 0/2 renditions done');
      expect(summaryPhase(pass(video()), { ...base, probed: false }).message).to.equal('Probing the source');
    });
  });
});
