import { expect } from 'chai';
import {
  etaSeconds,
  overallPercent,
  percentOf,
  progressMessageSchema,
  videoStatusMessageSchema,
} from '../../../common/video/index.js';

describe('common/video/progress', () => {
  it('ETA: the media time left at the current speed; unknown without a speed', () => {
    expect(etaSeconds(10, 40, 2)).to.equal(15);
    expect(etaSeconds(40, 40, 2)).to.equal(0);
    expect(etaSeconds(45, 40, 2)).to.equal(0); // ffmpeg's last line can pass the probed duration
    expect(etaSeconds(10, 40, 0)).to.equal(undefined);
    expect(etaSeconds(10, 40, undefined)).to.equal(undefined);
    expect(etaSeconds(10, 0, 1)).to.equal(undefined);
  });

  it('percent: clamped into 0–100; unknown without a duration', () => {
    expect(percentOf(15, 60)).to.equal(25);
    expect(percentOf(61, 60)).to.equal(100);
    expect(percentOf(-1, 60)).to.equal(0);
    expect(percentOf(1, 0)).to.equal(undefined);
    expect(percentOf(1, undefined)).to.equal(undefined);
  });

  it('overall percent: done 100, running its report (0 before one), pending 0, skipped and failed left out', () => {
    const at = '2026-12-04T10:00:00Z';
    expect(
      overallPercent([
        { name: '480p', phase: 'Succeeded' },
        { name: '720p', phase: 'Running', progress: { percent: 50, updatedAt: at } },
        { name: '1080p', phase: 'Skipped' },
      ]),
    ).to.equal(75);
    expect(
      overallPercent([
        { name: '480p', phase: 'Running' },
        { name: '720p', phase: 'Pending' },
        { name: '1080p', phase: 'Running', progress: { percent: 99.9, updatedAt: at } },
      ]),
    ).to.equal(33);
    expect(overallPercent([{ name: '480p', phase: 'Failed' }])).to.equal(undefined);
    expect(overallPercent([])).to.equal(undefined);
  });

  it('the message schema refuses what a broker could carry that is no report', () => {
    const ok = {
      uid: 'u1',
      rendition: '720p',
      percent: 12.5,
      encodedSeconds: 5,
      durationSeconds: 40,
      at: 'x',
    };
    expect(progressMessageSchema.safeParse(ok).success).to.equal(true);
    expect(progressMessageSchema.safeParse({ ...ok, percent: 101 }).success).to.equal(false);
    expect(progressMessageSchema.safeParse({ ...ok, rendition: '4k' }).success).to.equal(false);
    expect(progressMessageSchema.safeParse({ ...ok, durationSeconds: 0 }).success).to.equal(false);
    expect(progressMessageSchema.safeParse({ ...ok, uid: '' }).success).to.equal(false);
  });

  it('a status message keeps a rendition progress (and a reader of the old shape still parses it)', () => {
    const msg = videoStatusMessageSchema.parse({
      namespace: 'n',
      name: 'v',
      uid: 'u',
      generation: 1,
      resourceVersion: '1',
      phase: 'Processing',
      title: 't',
      renditions: [{ name: '480p', phase: 'Running', progress: { percent: 40, speed: 1.5, updatedAt: 'x' } }],
      observedAt: 'x',
      sequence: 1,
    });
    expect(msg.renditions[0]!.progress).to.deep.equal({ percent: 40, speed: 1.5, updatedAt: 'x' });
  });
});
