/** Pure: the Jobs a Video owns, as the Job informer caches and filters them. */
import type { V1Job } from '@kubernetes/client-node';
import { GROUP, KIND } from '../../common/video/index.js';
import { stripManagedFields } from '../runtime/informer.js';
import { jobOutcome } from './decide.js';

/**
 * What the cache keeps of a Job: its metadata (without managedFields), its status and its spec
 * without the Pod template. Nothing reads the template back (decide() goes by name, labels, owner
 * and status conditions), and it is most of a transcoder Job's size (container, env, volumes).
 */
export function slimJob(job: V1Job): V1Job {
  stripManagedFields(job);
  if (job.spec) delete (job.spec as Partial<NonNullable<V1Job['spec']>>).template;
  return job;
}

/**
 * Whether a Job update can change what decide() sees of it: its outcome (Complete/Failed and why),
 * its deletion, its controller, and an Indexed Job's completed indexes (a chunked rendition's chunks
 * done). The Job controller updates a Job's status many more times (Pods active, ready, starting);
 * those need no reconcile of the Video (a resync would catch up anyway).
 */
export function jobChangeMatters(old: V1Job, now: V1Job): boolean {
  const seen = (j: V1Job) =>
    JSON.stringify([
      jobOutcome(j),
      !!j.metadata?.deletionTimestamp,
      controllerOf(j)?.uid ?? '',
      j.spec?.completionMode === 'Indexed' ? (j.status?.completedIndexes ?? j.status?.succeeded ?? 0) : '',
    ]);
  return seen(old) !== seen(now);
}

/** The Video that controls a Job (key and uid), from its controller ownerReference. */
export function controllerOf(job: V1Job): { key: string; uid: string } | undefined {
  const ref = job.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === KIND && r.apiVersion.startsWith(`${GROUP}/`),
  );
  return ref ? { key: `${job.metadata?.namespace}/${ref.name}`, uid: ref.uid } : undefined;
}
