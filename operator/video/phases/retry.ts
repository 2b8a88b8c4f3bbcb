/**
 * Pure phase: retries. Jobs a retry deleted are ignored until they are gone (the cache may still show
 * them). A Failed Video is retried once per new value of the retry annotation (an admin's); a
 * transient failure is retried automatically with backoff (settings.retry) up to its limit. A retry
 * is a whole decision: delete the failed Jobs, clear the failure; the next passes create what is missing.
 */
import type { V1Job } from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  CONDITION_TYPES,
  DEFAULT_LADDER,
  REASONS,
  RENDITIONS,
  type RenditionStatus,
  type RetryStatus,
  type VideoStatus,
} from '../../../common/video/index.js';
import { chunksJobName, jobName, stitchJobName, THUMBNAIL_TASK } from '../jobs.js';
import { derivePhase } from '../status.js';
import { chunkPlanOf } from './chunks.js';
import { applyConditions, compactRetry } from './conditions.js';
import { isFailed, isPermanentFailure, jobFailure, jobOutcome, retryDelayMs, taskOf } from './outcomes.js';
import type { Decision, DecideSettings, Observed } from './types.js';

export interface RetryPhase {
  /** The Jobs that count (without the retired ones). */
  jobs: ReadonlyMap<string, V1Job>;
  /** status.retry as this pass leaves it (unless `decision` replaces the pass). */
  retry: RetryStatus;
  /** > 0 while an automatic retry's backoff runs. */
  waitMs: number;
  /** A retry starts now: this is the pass's whole decision. */
  decision?: Decision;
}

export function retryPhase(o: Observed, settings: DecideSettings): RetryPhase {
  const { video, now } = o;
  const old = video.status ?? {};
  const retiredBefore = new Set(old.retry?.retiredJobs ?? []);
  const present = new Set([...o.jobs.values()].map((j) => j.metadata?.uid ?? ''));
  const retry: RetryStatus = {
    ...(old.retry ?? {}),
    retiredJobs: [...retiredBefore].filter((u) => present.has(u)),
  };
  const jobs = new Map([...o.jobs].filter(([, j]) => !retiredBefore.has(j.metadata?.uid ?? '')));
  const failedNow = isFailed(old);
  const failedJobNames = [...jobs]
    .filter(([, j]) => jobOutcome(j).state === 'Failed' && !j.metadata?.deletionTimestamp)
    .map(([n]) => n)
    .sort();
  const start = (kind: 'admin' | 'auto', why: string, delayMs: number): RetryPhase => ({
    jobs,
    retry,
    waitMs: 0,
    decision: retryNow(o, { ...retry }, jobs, failedJobNames, kind, why, delayMs),
  });

  const annotation = video.metadata.annotations?.[ANNOTATIONS.retry];
  if (annotation !== undefined && annotation !== retry.observedAnnotation) {
    retry.observedAnnotation = annotation;
    if (failedNow) {
      const what = failedJobNames.length ? `re-running ${failedJobNames.join(', ')}` : 'deciding again';
      return start('admin', `Retry requested (${ANNOTATIONS.retry}=${annotation}): ${what}`, 0);
    }
  }
  if (!failedNow && failedJobNames.length > 0 && settings.retry && settings.retry.limit > 0) {
    const outcomes = failedJobNames.map((n) => ({
      n,
      outcome: jobOutcome(jobs.get(n)!),
      term: o.terminations?.get(n),
    }));
    const attempts = retry.attempts ?? 0;
    // Rendition Jobs count only once the source is known (before, only the probe's failure does).
    // A chunked Video's speculative single Jobs deferred to the chunks: their outcome never counts.
    const deferred = chunkPlanOf(video, settings.jobs, settings.ladder ?? DEFAULT_LADDER)
      ? new Set(RENDITIONS.map((r) => jobName(video, r)))
      : new Set<string>();
    const counted = old.source?.height
      ? outcomes.filter((x) => !deferred.has(x.n))
      : outcomes.filter((x) => x.n === jobName(video, THUMBNAIL_TASK));
    if (
      counted.length > 0 &&
      counted.every((x) => !isPermanentFailure(x.outcome, x.term)) &&
      attempts < settings.retry.limit
    ) {
      const first = counted[0]!;
      const task = taskOf(
        (t) => jobName(video, t),
        first.n,
        (r) => [chunksJobName(video, r), stitchJobName(video, r)],
      );
      const f = jobFailure(task, first.outcome, o.terminationMessages?.get(first.n), first.term);
      const delay = retryDelayMs(settings.retry, attempts + 1);
      const why = `${f.message}; transient: retrying in ${Math.round(delay / 1000)} s (retry ${attempts + 1} of ${settings.retry.limit})`;
      return start('auto', why, delay);
    }
  }
  const waitMs = retry.notBefore ? Date.parse(retry.notBefore) - now.getTime() : 0;
  return { jobs, retry, waitMs };
}

/** Deletes the failed Jobs and clears the failure; the step that failed is in progress again (Processing). */
function retryNow(
  o: Observed,
  retry: RetryStatus,
  jobs: ReadonlyMap<string, V1Job>,
  failedJobNames: string[],
  kind: 'admin' | 'auto',
  why: string,
  delayMs: number,
): Decision {
  const { video, now } = o;
  const old = video.status ?? {};
  const gen = video.metadata.generation;
  for (const n of failedJobNames) {
    const u = jobs.get(n)?.metadata?.uid;
    if (u) retry.retiredJobs = [...(retry.retiredJobs ?? []), u];
  }
  if (kind === 'admin') {
    delete retry.attempts;
    delete retry.notBefore;
  } else {
    retry.attempts = (retry.attempts ?? 0) + 1;
    retry.notBefore = new Date(now.getTime() + delayMs).toISOString();
  }
  const step = old.source?.height ? CONDITION_TYPES.transcoded : CONDITION_TYPES.probed;
  const conditions = applyConditions(
    old.conditions,
    [
      {
        remove: [CONDITION_TYPES.failed],
        conditions: [
          { type: step, status: 'Unknown', reason: REASONS.retrying, message: why },
          { type: CONDITION_TYPES.ready, status: 'False', reason: REASONS.retrying, message: why },
        ],
      },
    ],
    gen,
    now,
  );
  const renditions = (old.renditions ?? []).map((r): RenditionStatus =>
    r.phase === 'Failed' || (r.phase === 'Skipped' && !old.source?.height)
      ? { name: r.name, phase: 'Pending', ...(r.message ? { message: `retrying: ${r.message}` } : {}) }
      : r,
  );
  const next: VideoStatus = { ...old, renditions, message: why, observedGeneration: gen };
  const compact = compactRetry(retry);
  if (compact) next.retry = compact;
  else delete next.retry;
  next.conditions = conditions;
  next.phase = derivePhase(next.conditions);
  return {
    actions: failedJobNames.length ? [{ type: 'DeleteJobs', names: failedJobNames }] : [],
    status: next,
    events: [{ type: kind === 'admin' ? 'Normal' : 'Warning', reason: REASONS.retrying, message: why }],
    requeueAfterMs: Math.max(1_000, delayMs),
  };
}
