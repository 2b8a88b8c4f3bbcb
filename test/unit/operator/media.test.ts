/** A Ready Video whose media disappeared (issue 20): decide(), derivePhase and the auditor's pure parts. */
import { expect } from 'chai';
import { type Video, type VideoStatus } from '../../../common/video/index.js';
import { decide, type MediaCheck, type Observed } from '../../../operator/video/decide.js';
import { auditable, mediaCheckChangesStatus } from '../../../operator/video/media.js';
import { derivePhase } from '../../../operator/video/status.js';
import { job, jobs, meta, NOW, settings, UID, video } from './fixtures.js';

const S = { jobs: settings };
const MASTER = `${UID}/master.m3u8`;
const cond = (s: VideoStatus | undefined, t: string) => s?.conditions?.find((c) => c.type === t);
const allComplete = () =>
  jobs(
    job('demo-thumbnail', 'Complete'),
    job('demo-480p', 'Complete'),
    job('demo-720p', 'Complete'),
    job('demo-1080p', 'Complete'),
  );
const missing: MediaCheck = { key: MASTER, missing: [`videoflix-media/${MASTER}`] };
const found: MediaCheck = { key: MASTER, missing: [] };

/** A Video taken to Ready by decide() itself (probe, every rendition, the master written). */
function readyVideo(): Video {
  const probed: VideoStatus = {
    phase: 'Processing',
    observedGeneration: 1,
    source: { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true },
    thumbnailKey: `${UID}/thumbnail.jpg`,
  };
  const v = video({}, {}, probed);
  const d = decide(
    {
      video: v,
      jobs: allComplete(),
      now: NOW,
      metadata: { ok: [meta('480p'), meta('720p'), meta('1080p')] },
    },
    S,
  );
  expect(d.status?.phase).to.equal('Ready');
  return { ...v, status: d.status };
}
const step = (v: Video, o: Partial<Observed> = {}) => {
  const d = decide({ video: v, jobs: allComplete(), now: NOW, ...o }, S);
  return { d, next: { ...v, status: d.status ?? v.status } as Video };
};

describe('operator: media of a Ready Video', () => {
  it('a check that finds the master playlist changes nothing (no condition, no write, no event)', () => {
    const v = readyVideo();
    const { d } = step(v, { media: found });
    expect(d.actions).to.deep.equal([]);
    expect(d.events).to.deep.equal([]);
    expect(d.status).to.deep.equal(v.status);
    expect(cond(d.status, 'MediaAvailable')).to.equal(undefined);
  });

  it('missing: MediaAvailable=False (MediaMissing, naming the object), Ready=False, phase Failed, one Warning', () => {
    const { d, next } = step(readyVideo(), { media: missing });
    const message = `Media missing: videoflix-media/${MASTER} not found in object storage`;
    expect(cond(d.status, 'MediaAvailable')).to.include({
      status: 'False',
      reason: 'MediaMissing',
      message,
      observedGeneration: 1,
    });
    expect(cond(d.status, 'Ready')).to.include({ status: 'False', reason: 'MediaMissing', message });
    expect(cond(d.status, 'Failed'), 'not the sticky Failed condition').to.equal(undefined);
    expect(d.status?.phase).to.equal('Failed');
    expect(d.status?.message).to.equal(message);
    expect(d.status?.masterPlaylistKey, 'the key stays: the same playlist is expected back').to.equal(MASTER);
    expect(d.actions, 'nothing re-encoded or rewritten').to.deep.equal([]);
    expect(d.events).to.deep.equal([{ type: 'Warning', reason: 'MediaMissing', message }]);

    // a reconcile without news (a Job event, the resync) keeps saying so, without a second Warning
    const again = step(next);
    expect(again.d.status).to.deep.equal(d.status);
    expect(again.d.events).to.deep.equal([]);
    // the same check again: nothing new either
    expect(step(next, { media: missing }).d.status).to.deep.equal(d.status);
  });

  it('back: MediaAvailable=True, Ready=True, phase Ready, a Normal event; lastTransitionTime moves', () => {
    const gone = step(readyVideo(), { media: missing }).next;
    const later = new Date(NOW.getTime() + 60_000);
    const { d } = step(gone, { media: found, now: later });
    expect(cond(d.status, 'MediaAvailable')).to.include({
      status: 'True',
      reason: 'MediaAvailable',
      message: `${MASTER} found again`,
      lastTransitionTime: '2026-11-26T08:01:00Z',
    });
    expect(cond(d.status, 'Ready')).to.include({ status: 'True', reason: 'Ready' });
    expect(d.status?.phase).to.equal('Ready');
    expect(d.status?.message).to.match(/^Ready: /);
    expect(d.events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal([
      'Normal/MediaAvailable',
      'Normal/Ready',
    ]);
  });

  it('a check of another master playlist key is ignored', () => {
    const v = readyVideo();
    const { d } = step(v, {
      media: { key: 'other/master.m3u8', missing: ['videoflix-media/other/master.m3u8'] },
    });
    expect(d.status?.phase).to.equal('Ready');
  });

  it('a failed Video stays Failed for its own reason, whatever the media check says', () => {
    const v = readyVideo();
    const failed: Video = {
      ...v,
      status: {
        ...v.status,
        conditions: [
          ...(v.status?.conditions ?? []),
          {
            type: 'Failed',
            status: 'True',
            reason: 'JobFailed',
            message: 'rendition 720p: boom',
            lastTransitionTime: '2026-11-26T08:00:00Z',
          },
        ],
      },
    };
    const { d } = step(failed, { media: missing });
    expect(cond(d.status, 'Failed')).to.include({ reason: 'JobFailed' });
    expect(cond(d.status, 'MediaAvailable')).to.equal(undefined);
  });

  it('derivePhase: MediaAvailable=False → Failed, the sticky Failed condition first', () => {
    const c = (type: string, status: 'True' | 'False') => ({
      type,
      status,
      reason: 'R',
      message: 'm',
      lastTransitionTime: '2026-11-26T08:00:00Z',
    });
    expect(derivePhase([c('Ready', 'False'), c('MediaAvailable', 'False')])).to.equal('Failed');
    expect(derivePhase([c('Ready', 'True'), c('MediaAvailable', 'True')])).to.equal('Ready');
  });

  describe('the auditor (pure parts)', () => {
    it('checks processed Videos only: with a master playlist, not failed, not being deleted', () => {
      const v = readyVideo();
      expect(auditable(v)).to.equal(true);
      expect(auditable(video())).to.equal(false);
      expect(auditable({ ...v, metadata: { ...v.metadata, deletionTimestamp: NOW.toISOString() } })).to.equal(
        false,
      );
    });

    it('a result is news only when it contradicts MediaAvailable', () => {
      const v = readyVideo();
      expect(mediaCheckChangesStatus(v, found)).to.equal(false);
      expect(mediaCheckChangesStatus(v, missing)).to.equal(true);
      const gone = step(v, { media: missing }).next;
      expect(mediaCheckChangesStatus(gone, missing)).to.equal(false);
      expect(mediaCheckChangesStatus(gone, found)).to.equal(true);
      expect(mediaCheckChangesStatus(v, { key: 'other/master.m3u8', missing: ['x'] })).to.equal(false);
    });
  });
});
