/** Pure: what a Job's conditions and its Pods' terminations say (outcome, failure, permanence). */
import type { V1Job } from '@kubernetes/client-node';
import {
  CONDITION_TYPES,
  DEFAULT_LADDER,
  EXIT_CODES,
  FINALIZER,
  REASONS,
  RENDITIONS,
  selectRenditions,
  type LadderSettings,
  type RenditionName,
  type Video,
  type VideoStatus,
} from '../../../common/video/index.js';
import { backoffDelay } from '../../../common/backoff/index.js';
import { THUMBNAIL_TASK, type Task } from '../jobs.js';
import type { Failure, RetrySettings, Termination } from './types.js';

export type JobState = 'Active' | 'Complete' | 'Failed';

export interface JobOutcome {
  state: JobState;
  /** CamelCase reason of the Job's terminal condition (BackoffLimitExceeded, PodFailurePolicy, ...). */
  reason?: string;
  message?: string;
}

/** A Job is finished only when the Job controller says Complete or Failed (not at *Target). */
export function jobOutcome(job: V1Job): JobOutcome {
  const conds = job.status?.conditions ?? [];
  const complete = conds.find((c) => c.type === 'Complete' && c.status === 'True');
  if (complete) return { state: 'Complete' };
  const failed = conds.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed) return { state: 'Failed', reason: failed.reason, message: failed.message };
  return { state: 'Active' };
}

/**
 * Whether a rendition's Job has done its work: Complete, or its Pod reported success with a valid
 * rendition.json (`podResults`, by Job name) before the Job controller said so.
 */
export function renditionJobDone(
  name: string,
  job: V1Job | undefined,
  podResults?: ReadonlyMap<string, unknown>,
): boolean {
  if (!job) return false;
  return jobOutcome(job).state === 'Complete' || !!podResults?.has(name);
}

export function jobFailure(
  task: Task,
  outcome: JobOutcome,
  termination: string | undefined,
  term?: Termination,
): Failure {
  const what = task === THUMBNAIL_TASK ? 'thumbnail/probe' : `rendition ${task}`;
  if (term?.reason === 'OOMKilled')
    return {
      reason: REASONS.outOfMemory,
      message: `${what}: the transcoder ran out of memory (OOMKilled, exit code ${term.exitCode ?? 137}); give this task a higher memory limit (TRANSCODER_RESOURCES_JSON)`,
    };
  // podFailurePolicy's FailJob rule matched the transcoder's bad-input exit code.
  const reason = outcome.reason === 'PodFailurePolicy' ? REASONS.invalidSource : REASONS.jobFailed;
  const why =
    termination?.trim() || term?.message?.trim() || outcome.message || outcome.reason || 'the Job failed';
  return { reason, message: `${what}: ${why}`.slice(0, 4000) };
}

/**
 * Whether retrying a failed Job cannot help: the input is bad (exit 2, podFailurePolicy), the program
 * was called wrongly (exit 64), the transcoder ran out of memory (OOMKilled: the same limit kills it
 * again), or it ran past its deadline. Anything else (storage unreachable: exit 3, an internal
 * error, Pods evicted or deleted past the backoffLimit) is transient.
 */
export function isPermanentFailure(outcome: JobOutcome, term?: Termination): boolean {
  if (outcome.reason === 'PodFailurePolicy' || outcome.reason === 'DeadlineExceeded') return true;
  if (term?.reason === 'OOMKilled') return true;
  return term?.exitCode === EXIT_CODES.badInput || term?.exitCode === EXIT_CODES.usage;
}

/** Delay before automatic retry number `attempt` (1-based): delaySeconds doubled per attempt, capped. */
export function retryDelayMs(settings: RetrySettings, attempt: number): number {
  const max = (settings.maxDelaySeconds ?? 600) * 1000;
  return backoffDelay(attempt, settings.delaySeconds * 1000, max);
}

export const requestedRenditions = (video: Video): RenditionName[] => {
  const req = video.spec.renditions ?? [...RENDITIONS];
  return RENDITIONS.filter((r) => req.includes(r));
};

/** The renditions to encode, once the source has been probed. */
export function selectedRenditions(video: Video, ladder: LadderSettings = DEFAULT_LADDER): RenditionName[] {
  const height = video.status?.source?.height;
  if (!height) return [];
  return selectRenditions(requestedRenditions(video), height, ladder);
}

export const hasFinalizer = (v: Video) => (v.metadata.finalizers ?? []).includes(FINALIZER);
export const cond = (s: VideoStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);
export const isFailed = (s: VideoStatus | undefined) => cond(s, CONDITION_TYPES.failed)?.status === 'True';

/** The task a Job of this Video runs, from its deterministic name (`chunkJobs`: a rung's chunk and stitch Jobs). */
export function taskOf(
  jobName: (t: Task) => string,
  name: string,
  chunkJobs?: (r: RenditionName) => string[],
): Task {
  return (
    ([THUMBNAIL_TASK, ...RENDITIONS] as Task[]).find(
      (t) => jobName(t) === name || (t !== THUMBNAIL_TASK && !!chunkJobs?.(t).includes(name)),
    ) ?? THUMBNAIL_TASK
  );
}
