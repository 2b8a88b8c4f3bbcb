/** What the operator keeps in its informer caches, and how one pass's events are merged. */
import type { V1Job } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mergeJobCreated } from '../../../operator/video/events.js';
import { jobChangeMatters, slimJob } from '../../../operator/video/owned-jobs.js';
import { stripManagedFields } from '../../../operator/runtime/informer.js';
import { buildJob } from '../../../operator/video/jobs.js';
import { settings, video } from './fixtures.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

describe('operator caches', () => {
  describe('stripManagedFields', () => {
    it('drops managedFields and the last-applied annotation, keeps every other field', () => {
      const v = video({
        annotations: { [LAST_APPLIED]: '{"big":"copy"}', 'media.videoflix.io/catalog-id': '7' },
      });
      const withFields = {
        ...v,
        metadata: { ...v.metadata, managedFields: [{ manager: 'kubectl', operation: 'Update' }] },
      };
      const expected = structuredClone(v);
      expected.metadata.annotations = { 'media.videoflix.io/catalog-id': '7' };
      expect(stripManagedFields(withFields)).to.deep.equal(expected);
    });

    it('leaves objects without them alone', () => {
      const v = video();
      expect(stripManagedFields(structuredClone(v))).to.deep.equal(v);
    });
  });

  describe('slimJob', () => {
    it('keeps what the controller reads of a Job (metadata, status, spec without the Pod template)', () => {
      const job: V1Job = {
        ...buildJob(video(), 'thumbnail', settings),
        status: { conditions: [{ type: 'Complete', status: 'True' }] },
      };
      (job.metadata as Record<string, unknown>).managedFields = [{ manager: 'kube-controller-manager' }];
      const full = structuredClone(job);
      const slim = slimJob(job);
      expect(slim.spec?.template).to.equal(undefined);
      expect(slim.spec?.backoffLimit).to.equal(full.spec?.backoffLimit);
      expect(slim.status).to.deep.equal(full.status);
      const { managedFields: _dropped, ...metadata } = full.metadata as Record<string, unknown>;
      expect(slim.metadata).to.deep.equal(metadata);
      expect(slim.metadata?.ownerReferences).to.have.length(1);
    });
  });

  describe('jobChangeMatters', () => {
    const base = (): V1Job => ({ ...buildJob(video(), '480p', settings), status: { active: 1 } });
    it('is false for status changes decide() does not read (Pods active, ready, starting)', () => {
      const now = base();
      now.status = { active: 0, ready: 0, failed: 1, startTime: new Date() };
      expect(jobChangeMatters(base(), now)).to.equal(false);
    });
    it('is true when the Job completes or fails, and when it is being deleted', () => {
      const complete = base();
      complete.status = { conditions: [{ type: 'Complete', status: 'True' }] };
      expect(jobChangeMatters(base(), complete)).to.equal(true);
      const failed = base();
      failed.status = { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] };
      expect(jobChangeMatters(base(), failed)).to.equal(true);
      const deleting = base();
      deleting.metadata!.deletionTimestamp = new Date();
      expect(jobChangeMatters(base(), deleting)).to.equal(true);
    });
  });

  describe('mergeJobCreated', () => {
    it('makes the JobCreated events of one pass one event, in place of the first', () => {
      const events = [
        { type: 'Normal' as const, reason: 'Accepted', message: 'a' },
        { type: 'Normal' as const, reason: 'JobCreated', message: 'Created Job m-thumbnail (thumbnail)' },
        { type: 'Normal' as const, reason: 'JobCreated', message: 'Created Job m-480p (480p)' },
        { type: 'Warning' as const, reason: 'Other', message: 'b' },
        { type: 'Normal' as const, reason: 'JobCreated', message: 'Created Job m-720p (720p)' },
      ];
      expect(mergeJobCreated(events)).to.deep.equal([
        events[0],
        {
          type: 'Normal',
          reason: 'JobCreated',
          message: 'Created Jobs m-thumbnail (thumbnail), m-480p (480p), m-720p (720p)',
        },
        events[3],
      ]);
    });

    it('leaves a single JobCreated event as it is', () => {
      const events = [{ type: 'Normal' as const, reason: 'JobCreated', message: 'Created Job x (480p)' }];
      expect(mergeJobCreated(events)).to.equal(events);
    });
  });
});
