/** Pure: what the observe step must read for decide() (probe.json, rendition.json, Pod terminations). */
import type { V1Job } from '@kubernetes/client-node';
import {
  CONDITION_TYPES,
  DEFAULT_LADDER,
  type LadderSettings,
  type Video,
} from '../../../common/video/index.js';
import { jobName, THUMBNAIL_TASK, type JobSettings } from '../jobs.js';
import { chunkPlanOf } from './chunks.js';
import { cond, isFailed, jobOutcome, renditionJobDone, selectedRenditions } from './outcomes.js';
import { masterCurrent } from './publish.js';

/** probe.json is read once the thumbnail Job completed and before it was recorded. */
export function needsProbe(video: Video, jobs: ReadonlyMap<string, V1Job>): boolean {
  if (video.status?.source?.height) return false;
  const job = jobs.get(jobName(video, THUMBNAIL_TASK));
  return !!job && jobOutcome(job).state === 'Complete';
}

/**
 * Rendition metadata is read once every selected rendition is done (its Job Complete, or its Pod's
 * result in `podResults`), before the master exists or when it is stale (a rung was added since).
 */
export function needsRenditionMetadata(
  video: Video,
  jobs: ReadonlyMap<string, V1Job>,
  ladder?: LadderSettings,
  podResults?: ReadonlyMap<string, unknown>,
  jobSettings?: JobSettings,
): boolean {
  if (masterCurrent(video.status) || cond(video.status, CONDITION_TYPES.failed)?.status === 'True')
    return false;
  const selected = selectedRenditions(video, ladder);
  if (selected.length === 0) return false;
  // a chunked rung is done only once its files were written from its chunks (status Succeeded)
  const chunked = !!jobSettings && !!chunkPlanOf(video, jobSettings, ladder ?? DEFAULT_LADDER);
  return selected.every((r) => {
    const prev = video.status?.renditions?.find((x) => x.name === r);
    if (prev?.phase === 'Succeeded') return true;
    if (chunked) return false;
    const jn = jobName(video, r);
    return renditionJobDone(jn, jobs.get(jn), podResults);
  });
}

/** Failed Jobs whose Pod termination message is worth reading. */
export function failedJobs(video: Video, jobs: ReadonlyMap<string, V1Job>): string[] {
  if (isFailed(video.status)) return [];
  return [...jobs.values()]
    .filter((j) => jobOutcome(j).state === 'Failed')
    .map((j) => j.metadata?.name ?? '');
}
