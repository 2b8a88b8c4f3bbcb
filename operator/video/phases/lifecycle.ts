/** Pure phases: deletion (the Video is going) and finalizer (nothing is created before it is there). */
import { keys, REASONS, type Video } from '../../../common/video/index.js';
import { hasFinalizer } from './outcomes.js';
import type { Action, Decision, Observed } from './types.js';

/**
 * Deletion: stop the transcoders (delete their Jobs, wait until their Pods are gone, so nothing
 * uploads afterwards), then remove the media, then the finalizer. Undefined = not being deleted.
 */
export function deletion(o: Observed): Decision | undefined {
  const { video, jobs } = o;
  if (!video.metadata.deletionTimestamp) return undefined;
  if (!hasFinalizer(video)) return { actions: [], events: [] };
  if (jobs.size > 0) {
    const names = [...jobs.keys()].sort();
    return {
      actions: [{ type: 'DeleteJobs', names }],
      events: [{ type: 'Normal', reason: REASONS.deleting, message: `Deleting Jobs ${names.join(', ')}` }],
      requeueAfterMs: 1_000,
    };
  }
  if ((o.remainingPods ?? 0) > 0) return { actions: [], events: [], requeueAfterMs: 1_000 };
  const prefix = keys.prefix(video.metadata.uid ?? '');
  return {
    actions: [{ type: 'CleanupMedia' }, { type: 'RemoveFinalizer' }],
    events: [{ type: 'Normal', reason: REASONS.deleting, message: `Removing objects under ${prefix}` }],
  };
}

/**
 * The finalizer goes on before anything is created, so nothing can outlive the Video: as the first
 * action of the same pass that creates the first Jobs (one pass, one status write, no Pending step).
 */
export function finalizer(video: Video): Action[] {
  return hasFinalizer(video) ? [] : [{ type: 'AddFinalizer' }];
}
