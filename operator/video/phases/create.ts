/** Pure: a Job this pass creates (with its event), or none while a retry's backoff runs. */
import { REASONS } from '../../../common/video/index.js';
import { buildJob, type JobOptions, type Task } from '../jobs.js';
import type { Pass, Part } from './types.js';

/** Adds the CreateJob action and its event to `part`; returns false (and marks waiting) during a backoff. */
export function createJob(pass: Pass, part: Part, task: Task, opts?: JobOptions): boolean {
  if (pass.waitMs > 0) {
    part.waiting = true;
    return false;
  }
  const job = buildJob(pass.video, task, pass.settings.jobs, opts);
  part.actions.push({ type: 'CreateJob', task, job });
  part.events.push({
    type: 'Normal',
    reason: REASONS.jobCreated,
    message: `Created Job ${job.metadata?.name} (${task})`,
  });
  return true;
}
