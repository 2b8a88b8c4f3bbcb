import { expect } from 'chai';
import type { ProgressMessage, RenditionStatus, Video } from '../../../common/video/index.js';
import { decide, type Observed } from '../../../operator/video/decide.js';
import { worthPublishing } from '../../../operator/video/messages.js';
import { foldProgress, progressSummary } from '../../../operator/video/phases/progress.js';
import { ProgressTracker, toRenditionProgress } from '../../../operator/video/progress.js';
import { job, jobs, NOW, settings, UID, video } from './fixtures.js';

const report = (
  rendition: ProgressMessage['rendition'],
  percent: number,
  over: Partial<ProgressMessage> = {},
) =>
  ({
    uid: UID,
    rendition,
    percent,
    encodedSeconds: percent,
    durationSeconds: 100,
    speed: 2,
    etaSeconds: (100 - percent) / 2,
    at: 'x',
    ...over,
  }) satisfies ProgressMessage;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('operator progress', () => {
  it('a report becomes a status entry: ETA as a time on the operator clock, second precision', () => {
    expect(toRenditionProgress(report('720p', 40.04), new Date('2026-12-04T10:00:00.400Z'))).to.deep.equal({
      percent: 40,
      speed: 2,
      estimatedCompletionTime: '2026-12-04T10:00:30Z',
      updatedAt: '2026-12-04T10:00:00Z',
    });
  });

  describe('ProgressTracker: coalesced, at most one write per Video per interval', () => {
    it('many reports wake one pass; the next only after the interval since the last write', async () => {
      let t = 0;
      const wakes: number[] = [];
      const tr = new ProgressTracker({ intervalMs: 80, wake: () => wakes.push(t), now: () => t });
      for (let i = 0; i < 50; i++) tr.record(report('480p', i));
      await sleep(10);
      expect(wakes).to.have.length(1); // never wrote: due at once
      expect(tr.due(UID)?.get('480p')?.percent).to.equal(49);
      tr.settled(UID, true);
      expect(tr.due(UID)).to.equal(undefined); // nothing new
      for (let i = 50; i < 100; i++) tr.record(report('480p', i));
      t = 40;
      expect(tr.due(UID)).to.equal(undefined); // a pass for another reason: not due yet
      await sleep(30);
      expect(wakes).to.have.length(1);
      t = 80;
      await sleep(80);
      expect(wakes).to.have.length(2);
      expect(tr.due(UID)?.get('480p')?.percent).to.equal(99);
      expect(tr.received).to.equal(100);
    });

    it('keeps the latest report per rendition; forget() drops a Video and its timer', async () => {
      const woke: string[] = [];
      const tr = new ProgressTracker({ intervalMs: 20, wake: (u) => woke.push(u) });
      tr.record(report('480p', 10));
      tr.record(report('720p', 5));
      tr.record(report('480p', 12));
      await sleep(5);
      expect(woke).to.deep.equal([UID]);
      const due = tr.due(UID)!;
      expect([...due.keys()].sort()).to.deep.equal(['480p', '720p']);
      expect(due.get('480p')!.percent).to.equal(12);
      tr.settled(UID, true);
      tr.record(report('480p', 20));
      tr.forget(UID);
      await sleep(50);
      expect(woke).to.have.length(1);
      expect(tr.size).to.equal(0);
      expect(tr.due(UID)).to.equal(undefined);
    });
  });

  describe('foldProgress and the PROGRESS column', () => {
    const at = '2026-12-04T10:00:00Z';
    const running = (name: RenditionStatus['name'], percent?: number): RenditionStatus => ({
      name,
      phase: 'Running',
      job: `demo-${name}`,
      ...(percent !== undefined ? { progress: { percent, updatedAt: at } } : {}),
    });

    it('running: the fresh report, else the stored one of the same Job; others carry none', () => {
      const old = [running('480p', 30), running('720p', 10), running('1080p', 5)];
      const next: RenditionStatus[] = [
        { name: '480p', phase: 'Succeeded', job: 'demo-480p' },
        { name: '720p', phase: 'Running', job: 'demo-720p' },
        { name: '1080p', phase: 'Running', job: 'demo-1080p' },
      ];
      const fresh = new Map([['1080p' as const, { percent: 50, updatedAt: at }]]);
      expect(foldProgress(next, old, fresh)).to.deep.equal([
        { name: '480p', phase: 'Succeeded', job: 'demo-480p' },
        running('720p', 10),
        running('1080p', 50),
      ]);
      // a Pending rung (a retry's backoff) drops it; a progress on a finished entry never survives
      expect(
        foldProgress(
          [{ name: '720p', phase: 'Pending', progress: { percent: 1, updatedAt: at } }],
          old,
          fresh,
        ),
      ).to.deep.equal([{ name: '720p', phase: 'Pending' }]);
    });

    it('progressSummary only while Processing', () => {
      const r = [{ name: '480p', phase: 'Succeeded' } as RenditionStatus, running('720p', 50)];
      expect(progressSummary('Processing', r)).to.equal('75%');
      expect(progressSummary('Ready', r)).to.equal(undefined);
      expect(progressSummary('Processing', [])).to.equal(undefined);
    });
  });

  describe('decide() with progress', () => {
    const probed: Video['status'] = {
      phase: 'Processing',
      observedGeneration: 1,
      source: { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true },
      thumbnailKey: `${UID}/thumbnail.jpg`,
      conditions: [
        {
          type: 'Probed',
          status: 'True',
          reason: 'Probed',
          message: 'x',
          observedGeneration: 1,
          lastTransitionTime: 'x',
        },
        {
          type: 'Ready',
          status: 'False',
          reason: 'Transcoding',
          message: 'x',
          observedGeneration: 1,
          lastTransitionTime: 'x',
        },
      ],
    };
    const running = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-720p', undefined),
      job('demo-1080p', undefined),
    );
    const obs = (v: Video, o: Partial<Observed> = {}): Observed => ({
      video: v,
      jobs: running,
      now: NOW,
      ...o,
    });
    const S = { jobs: settings };

    it('puts due reports into the running renditions and the summary; a pass without them keeps them', () => {
      const at = '2026-11-26T08:00:00Z';
      const first = decide(
        obs(video({}, {}, probed), {
          progress: new Map([
            ['720p', { percent: 50, updatedAt: at }],
            ['480p', { percent: 99, updatedAt: at }], // finished meanwhile: ignored
          ]),
        }),
        S,
      );
      const r = first.status!.renditions!;
      expect(r.find((x) => x.name === '480p')).not.to.have.property('progress');
      expect(r.find((x) => x.name === '720p')!.progress).to.deep.equal({ percent: 50, updatedAt: at });
      expect(r.find((x) => x.name === '1080p')).not.to.have.property('progress');
      expect(first.status!.progressSummary).to.equal('50%');
      expect(first.actions).to.deep.equal([]);
      expect(worthPublishing(probed, first.status!)).to.equal(true);

      const again = decide(obs(video({}, {}, first.status)), S);
      expect(again.status).to.deep.equal(first.status); // nothing new: no write
    });

    it('Ready: no progress and no summary left', () => {
      const done = jobs(
        job('demo-thumbnail', 'Complete'),
        job('demo-480p', 'Complete'),
        job('demo-720p', 'Complete'),
        job('demo-1080p', 'Complete'),
      );
      const d = decide(
        {
          video: video({}, {}, { ...probed, progressSummary: '90%' }),
          jobs: done,
          now: NOW,
          metadata: { error: 'not read in this test' },
        },
        S,
      );
      expect(d.status!.progressSummary).to.equal(undefined);
      for (const x of d.status!.renditions ?? []) expect(x).not.to.have.property('progress');
    });
  });
});
