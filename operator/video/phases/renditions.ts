/**
 * Pure phase: the renditions. Before the probe every requested rung's Job starts with the thumbnail
 * Job (rungs above the lowest skip themselves when taller than the source); what they report counts
 * only once the source is known, which selects the rungs kept. Finished renditions are never redone.
 * A rung taller than the source is recorded Skipped and its Job deleted; a failed Video deletes the
 * Jobs still running (nothing they produce can be used).
 */
import {
  keys,
  REASONS,
  selectRenditions,
  type RenditionName,
  type RenditionStatus,
} from '../../../common/video/index.js';
import { jobName } from '../jobs.js';
import { chunkedRendition, chunkPlanOf } from './chunks.js';
import { createJob } from './create.js';
import { jobFailure, jobOutcome, renditionJobDone, requestedRenditions } from './outcomes.js';
import { emptyPart, type Failure, type Pass, type Part } from './types.js';

export interface RenditionsPart extends Part {
  renditions: RenditionStatus[];
  /** Once the source is known: the rungs kept and how many are done. */
  selected?: RenditionName[];
  done?: number;
  /**
   * Jobs to delete: rungs taller than the source, and a chunked Video's speculative single Jobs
   * (they deferred, writing nothing); a failed Video's running Jobs are added later.
   */
  cancel: string[];
  /** Jobs to delete: a chunked Video's speculative single Jobs (they deferred to the chunks). */
  deferred: string[];
  /** A chunked Video: chunks done and total over its selected rungs. */
  chunks?: { done: number; total: number };
}

/**
 * `sourceHeight`: the probed source's height (this pass's probe or the stored one), 0 = not known yet;
 * `durationSeconds`: its duration, which decides whether the rungs are chunked (phases/chunks.ts).
 */
export function renditionsPhase(
  pass: Pass,
  sourceHeight: number,
  failure: Failure | undefined,
  durationSeconds?: number,
): RenditionsPart {
  const { o, old, video, uid, ladder, jobs } = pass;
  const part: RenditionsPart = { ...emptyPart(failure), renditions: [], cancel: [], deferred: [] };
  const requested = requestedRenditions(video);
  const previous = new Map((old.renditions ?? []).map((r) => [r.name, r]));
  const cancelJob = (jn: string) => {
    const job = jobs.get(jn);
    if (job && !job.metadata?.deletionTimestamp) part.cancel.push(jn);
  };
  const failureOf = (name: RenditionName, jn: string) => {
    const job = jobs.get(jn);
    const outcome = job ? jobOutcome(job) : undefined;
    return outcome?.state === 'Failed'
      ? jobFailure(name, outcome, o.terminationMessages?.get(jn), o.terminations?.get(jn))
      : undefined;
  };

  if (!sourceHeight && part.failure) {
    // Failed before the source was known (unreadable source, probe failed): the rendition Jobs
    // started on speculation go; what they said is kept in the status.
    part.renditions = requested.map((name): RenditionStatus => {
      const jn = jobName(video, name);
      const prev = previous.get(name);
      if (prev?.phase === 'Failed' || prev?.phase === 'Skipped') return prev;
      cancelJob(jn);
      const f = failureOf(name, jn);
      if (f) return { name, phase: 'Failed', job: jn, message: f.message };
      return { name, phase: 'Skipped', message: 'not encoded: the source could not be probed' };
    });
    return part;
  }
  if (!sourceHeight) {
    const lowest = ladder.rungs.find((r) => requested.includes(r.name))?.name;
    part.renditions = requested.map((name): RenditionStatus => {
      const jn = jobName(video, name);
      if (jobs.has(jn)) return { name, phase: 'Running', job: jn };
      // Rungs above the lowest skip themselves when taller than the source (same rule as below).
      const created = createJob(pass, part, name, { skipTallerThanSource: name !== lowest });
      return { name, phase: created ? 'Running' : 'Pending', job: jn };
    });
    return part;
  }

  const selected = selectRenditions(requested, sourceHeight, ladder);
  const plan = chunkPlanOf(video, pass.settings.jobs, ladder, durationSeconds);
  for (const name of requested) {
    const prev = previous.get(name);
    const jn = jobName(video, name);
    if (!selected.includes(name)) {
      // Started before the probe: its Job goes (it exits at once by itself, having written nothing).
      cancelJob(jn);
      part.renditions.push({ name, phase: 'Skipped', message: `taller than the ${sourceHeight}p source` });
    } else if (plan) {
      // Chunked: the speculative single Job deferred (wrote nothing); its outcome is never read.
      if (jobs.has(jn) && !jobs.get(jn)?.metadata?.deletionTimestamp) part.deferred.push(jn);
      part.renditions.push(
        prev?.phase === 'Succeeded' ? prev : chunkedRendition(pass, part, name, plan, prev),
      );
    } else if (prev?.phase === 'Succeeded') part.renditions.push(prev);
    else if (!jobs.has(jn)) {
      if (part.failure) part.renditions.push(prev ?? { name, phase: 'Pending' });
      else {
        const created = createJob(pass, part, name);
        part.renditions.push({ name, phase: created ? 'Running' : 'Pending', job: jn });
      }
    } else {
      const f = failureOf(name, jn);
      // Done at its Pod's successful exit (o.podResults) or, failing that, at its Job's Complete.
      if (renditionJobDone(jn, jobs.get(jn), o.podResults))
        part.renditions.push({ name, phase: 'Succeeded', job: jn, playlistKey: keys.playlist(uid, name) });
      else if (f) {
        part.failure ??= f;
        part.renditions.push({ name, phase: 'Failed', job: jn, message: f.message });
      } else part.renditions.push({ name, phase: 'Running', job: jn });
    }
  }
  part.selected = selected;
  part.done = part.renditions.filter((e) => e.phase === 'Succeeded').length;
  if (plan) {
    const counted = part.renditions.filter((r) => selected.includes(r.name));
    part.chunks = {
      done: counted.reduce((n, r) => n + (r.chunks?.done ?? 0), 0),
      total: counted.reduce((n, r) => n + (r.chunks?.total ?? plan.count), 0),
    };
  }
  return part;
}

/**
 * A failed Video stops what still runs; with the taller rungs' Jobs and a chunked Video's deferred
 * speculative Jobs, one DeleteJobs and its event.
 */
export function cancellations(
  pass: Pass,
  cancel: readonly string[],
  failure: Failure | undefined,
  deferred: readonly string[] = [],
): Part {
  const part = emptyPart(failure);
  const names = new Set([...cancel, ...deferred]);
  if (failure)
    for (const [jn, job] of pass.jobs)
      if (jobOutcome(job).state === 'Active' && !job.metadata?.deletionTimestamp) names.add(jn);
  if (names.size === 0) return part;
  const sorted = [...names].sort();
  part.actions.push({ type: 'DeleteJobs', names: sorted });
  const why = failure
    ? 'the Video failed'
    : [
        ...(cancel.length ? ['rendition taller than the source'] : []),
        ...(deferred.length ? ['deferred to the chunk Jobs'] : []),
      ].join('; ');
  part.events.push({
    type: 'Normal',
    reason: REASONS.jobsCancelled,
    message: `Deleted Job${sorted.length > 1 ? 's' : ''} ${sorted.join(', ')} (${why})`,
  });
  return part;
}
