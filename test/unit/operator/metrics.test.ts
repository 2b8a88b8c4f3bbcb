import type { V1Job } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Video } from '../../../common/video/index.js';
import { parsePrometheus } from '@videoflix/testkit/prometheus';
import { createMetrics } from '../../../operator/video/metrics.js';
import {
  FAILURE_REASONS,
  encodeFinished,
  failedNow,
  oldestProcessingSeconds,
  pastEtaSeconds,
  estimatedCompletion,
  processingSince,
} from '../../../operator/video/gauges.js';
import { video } from './fixtures.js';

const job = (complete: boolean, rendition?: string, times: { start?: string; end?: string } = {}): V1Job => ({
  metadata: { name: 'j', labels: rendition ? { 'media.videoflix.io/rendition': rendition } : {} },
  status: {
    ...(times.start ? { startTime: new Date(times.start) } : {}),
    ...(times.end ? { completionTime: times.end as unknown as Date } : {}), // watch events carry strings
    conditions: complete ? [{ type: 'Complete', status: 'True' }] : [],
  },
});

const withStatus = (status: Video['status'], meta: Partial<Video['metadata']> = {}) =>
  video(meta, {}, status);

describe('operator metrics: what changes and caches show', () => {
  describe('encodeFinished', () => {
    const times = { start: '2026-12-04T10:00:00Z', end: '2026-12-04T10:01:30Z' };
    it('gives the task and run time of a Job that just completed', () => {
      expect(encodeFinished(job(false, '720p'), job(true, '720p', times))).to.deep.equal({
        task: '720p',
        seconds: 90,
      });
      expect(encodeFinished(job(false), job(true, undefined, times))).to.deep.equal({
        task: 'thumbnail',
        seconds: 90,
      });
    });
    it('ignores a Job complete before, a first sight (relist), one still running, and missing times', () => {
      expect(encodeFinished(job(true, '720p', times), job(true, '720p', times))).to.equal(undefined);
      expect(encodeFinished(undefined, job(true, '720p', times))).to.equal(undefined);
      expect(encodeFinished(job(false, '720p'), job(false, '720p', times))).to.equal(undefined);
      expect(encodeFinished(job(false, '720p'), job(true, '720p', { start: times.start }))).to.equal(
        undefined,
      );
    });
  });

  describe('failedNow', () => {
    const failed = (reason: string) =>
      withStatus({
        phase: 'Failed',
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason,
            message: 'm',
            lastTransitionTime: '2026-12-04T10:00:00Z',
          },
          {
            type: 'Failed',
            status: 'True',
            reason,
            message: 'm',
            lastTransitionTime: '2026-12-04T10:00:00Z',
          },
        ],
      });
    const processing = withStatus({ phase: 'Processing' });
    it("gives the Failed condition's reason on the transition only", () => {
      expect(failedNow(processing, failed('OutOfMemory'))).to.equal('OutOfMemory');
      expect(failedNow(failed('OutOfMemory'), failed('OutOfMemory'))).to.equal(undefined);
      expect(failedNow(undefined, failed('OutOfMemory'))).to.equal(undefined);
      expect(failedNow(processing, processing)).to.equal(undefined);
    });
    it('keeps the label bounded: an unknown reason is Other', () => {
      expect(failedNow(processing, failed('SomethingNew'))).to.equal('Other');
    });
  });

  describe('processing age', () => {
    const created = '2026-12-04T10:00:00Z';
    const now = Date.parse('2026-12-04T10:10:00Z');
    it('counts from creation, from Ready turning False later, or from when this replica saw it start', () => {
      const v = withStatus({ phase: 'Processing' }, { creationTimestamp: created });
      expect(processingSince(v)).to.equal(Date.parse(created));
      const reprocessed = withStatus(
        {
          phase: 'Processing',
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'Transcoding',
              message: '',
              lastTransitionTime: '2026-12-04T10:05:00Z',
            },
          ],
        },
        { creationTimestamp: created },
      );
      expect(processingSince(reprocessed)).to.equal(Date.parse('2026-12-04T10:05:00Z'));
      expect(processingSince(v, now - 1000)).to.equal(now - 1000);
    });
    it('is the oldest Processing Video, 0 without one', () => {
      const videos = [
        withStatus({ phase: 'Processing' }, { creationTimestamp: created, uid: 'a' }),
        withStatus({ phase: 'Processing' }, { creationTimestamp: '2026-12-04T10:08:00Z', uid: 'b' }),
        withStatus({ phase: 'Ready' }, { creationTimestamp: '2026-12-01T00:00:00Z', uid: 'c' }),
      ];
      expect(oldestProcessingSeconds(videos, now)).to.equal(600);
      expect(oldestProcessingSeconds(videos, now, (uid) => (uid === 'a' ? now - 5000 : undefined))).to.equal(
        120,
      );
      expect(oldestProcessingSeconds(videos.slice(2), now)).to.equal(0);
      expect(oldestProcessingSeconds([], now)).to.equal(0);
    });
    it('is how far past its estimated completion the Processing Video furthest behind is (latest ETA of its running renditions)', () => {
      const at = (t: string) => ({
        percent: 50,
        updatedAt: '2026-12-04T10:00:00Z',
        estimatedCompletionTime: t,
      });
      const late = withStatus(
        {
          phase: 'Processing',
          renditions: [
            { name: '480p', phase: 'Running', progress: at('2026-12-04T09:50:00Z') },
            { name: '720p', phase: 'Running', progress: at('2026-12-04T10:05:00Z') },
            // a finished rung's stale estimate does not count
            { name: '1080p', phase: 'Succeeded', progress: at('2026-12-04T09:00:00Z') },
          ],
        },
        { uid: 'late' },
      );
      expect(estimatedCompletion(late)).to.equal(Date.parse('2026-12-04T10:05:00Z'));
      expect(pastEtaSeconds([late], now)).to.equal(300);
      // on time, no estimate yet, chunked (chunks done/total, no estimate), not Processing, deleting: 0
      const onTime = withStatus({
        phase: 'Processing',
        renditions: [{ name: '480p', phase: 'Running', progress: at('2026-12-04T10:30:00Z') }],
      });
      const noEstimate = withStatus({
        phase: 'Processing',
        renditions: [
          { name: '480p', phase: 'Running', progress: { percent: 3, updatedAt: '2026-12-04T09:00:00Z' } },
          { name: '720p', phase: 'Pending' },
        ],
      });
      const chunked = withStatus({
        phase: 'Processing',
        renditions: [
          {
            name: '720p',
            phase: 'Running',
            chunks: { done: 1, total: 8 },
            progress: { percent: 13, updatedAt: '2026-12-04T08:00:00Z' },
          },
        ],
      });
      const ready = withStatus({
        phase: 'Ready',
        renditions: [{ name: '480p', phase: 'Running', progress: at('2026-12-04T08:00:00Z') }],
      });
      const deleting = withStatus(
        {
          phase: 'Processing',
          renditions: [{ name: '480p', phase: 'Running', progress: at('2026-12-04T08:00:00Z') }],
        },
        { deletionTimestamp: '2026-12-04T10:09:00Z' as unknown as Date },
      );
      expect(estimatedCompletion(noEstimate)).to.equal(undefined);
      expect(estimatedCompletion(chunked)).to.equal(undefined);
      expect(pastEtaSeconds([onTime, noEstimate, chunked, ready, deleting], now)).to.equal(0);
      expect(pastEtaSeconds([onTime, late, chunked], now)).to.equal(300);
      expect(pastEtaSeconds([], now)).to.equal(0);
    });
  });

  it('starts the failure counter of every failure reason at 0 (increase() then sees a first failure)', async () => {
    const m = createMetrics({
      queueDepth: () => 2,
      jobsByOutcome: () => [],
      videosByPhase: () => ({ Processing: 1 }),
      isLeader: () => true,
      outboxSize: () => 0,
      oldestProcessingSeconds: () => 42.5,
      pastEtaSeconds: () => 7,
    });
    const parsed = parsePrometheus(await m.registry.metrics());
    for (const reason of FAILURE_REASONS)
      expect(parsed.value('videoflix_operator_videos_failed_total', { reason }), reason).to.equal(0);
    expect(FAILURE_REASONS).to.include('OutOfMemory').and.include('Other');
    expect(parsed.value('videoflix_operator_processing_oldest_seconds')).to.equal(42.5);
    expect(parsed.value('videoflix_operator_processing_past_eta_seconds')).to.equal(7);
    expect(parsed.type('videoflix_operator_encode_duration_seconds')).to.equal('histogram');
  });
});
