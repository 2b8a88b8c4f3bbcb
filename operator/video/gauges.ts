/**
 * Pure: what the operator's metrics show of the caches (Jobs by task and outcome, Videos by phase,
 * the oldest Processing Video) and of their changes (a Job completed, a Video failed).
 */
import type { V1Job } from '@kubernetes/client-node';
import { CONDITION_TYPES, REASONS, type Video } from '../../common/video/index.js';
import { jobOutcome } from './decide.js';
import { THUMBNAIL_TASK } from './jobs.js';

export function jobsByOutcome(
  jobs: readonly V1Job[],
): Array<{ task: string; outcome: string; count: number }> {
  const counts = new Map<string, number>();
  for (const j of jobs) {
    const task = j.metadata?.labels?.['media.videoflix.io/rendition'] ?? THUMBNAIL_TASK;
    const k = `${task}|${jobOutcome(j).state}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, count]) => {
    const [task = '', outcome = ''] = k.split('|');
    return { task, outcome, count };
  });
}

export function videosByPhase(videos: readonly Video[]): Record<string, number> {
  const r: Record<string, number> = { Pending: 0, Processing: 0, Ready: 0, Failed: 0 };
  for (const v of videos) {
    const p = v.status?.phase ?? 'Pending';
    r[p] = (r[p] ?? 0) + 1;
  }
  return r;
}

const ms = (t: unknown): number | undefined => {
  if (t === undefined || t === null || t === '') return undefined;
  const v = (t instanceof Date ? t : new Date(String(t))).getTime();
  return Number.isFinite(v) ? v : undefined;
};

/**
 * A Job that just completed (it was not Complete in `old`): its task and its run time, from the Job
 * controller's startTime (the first Pod created: scheduling and image pull included) to its
 * completionTime. Undefined for any other update, and when a time is missing.
 */
export function encodeFinished(
  old: V1Job | undefined,
  now: V1Job,
): { task: string; seconds: number } | undefined {
  if (!old || jobOutcome(old).state === 'Complete' || jobOutcome(now).state !== 'Complete') return undefined;
  const start = ms(now.status?.startTime);
  const end = ms(now.status?.completionTime);
  if (start === undefined || end === undefined || end < start) return undefined;
  const task = now.metadata?.labels?.['media.videoflix.io/rendition'] ?? THUMBNAIL_TASK;
  return { task, seconds: (end - start) / 1000 };
}

const KNOWN_REASONS = new Set<string>(Object.values(REASONS));

/**
 * The reasons a Video fails with (its Failed condition, or Ready's when its media went missing), and
 * `Other`: the failure counter starts each at 0, so that Prometheus' increase() sees a Video's first
 * failure of a reason too (a series that appears at 1 has no earlier sample to grow from).
 */
export const FAILURE_REASONS: readonly string[] = [
  REASONS.jobFailed,
  REASONS.invalidSource,
  REASONS.sourceNotAllowed,
  REASONS.outOfMemory,
  REASONS.segmentsMisaligned,
  REASONS.storageError,
  REASONS.mediaMissing,
  'Other',
];

/**
 * A Video that just failed (phase Failed now, not in `old`): the reason of its Failed (else Ready)
 * condition, one of REASONS (anything else is `Other`, so the label stays bounded).
 */
export function failedNow(old: Video | undefined, now: Video): string | undefined {
  if (!old || old.status?.phase === 'Failed' || now.status?.phase !== 'Failed') return undefined;
  const conds = now.status.conditions ?? [];
  const c =
    conds.find((x) => x.type === CONDITION_TYPES.failed && x.status === 'True') ??
    conds.find((x) => x.type === CONDITION_TYPES.ready);
  return c && KNOWN_REASONS.has(c.reason) ? c.reason : 'Other';
}

/**
 * When a Processing Video started processing: `seen` (the time this replica saw it enter Processing,
 * e.g. after a retry or a spec change) when known, else the later of its creation and its Ready
 * condition's last transition (a Ready Video re-processed turned Ready False).
 */
export function processingSince(v: Video, seen?: number): number | undefined {
  if (seen !== undefined) return seen;
  const created = ms(v.metadata.creationTimestamp);
  const ready = v.status?.conditions?.find((c) => c.type === CONDITION_TYPES.ready);
  const flipped = ready && ready.status !== 'True' ? ms(ready.lastTransitionTime) : undefined;
  if (created === undefined) return flipped;
  return flipped === undefined ? created : Math.max(created, flipped);
}

/** Age in seconds of the oldest Processing Video (0 when none): what the "processing too long" alert watches. */
export function oldestProcessingSeconds(
  videos: readonly Video[],
  now: number,
  seen: (uid: string) => number | undefined = () => undefined,
): number {
  let oldest = 0;
  for (const v of videos) {
    if (v.status?.phase !== 'Processing' || v.metadata.deletionTimestamp) continue;
    const since = processingSince(v, v.metadata.uid ? seen(v.metadata.uid) : undefined);
    if (since !== undefined) oldest = Math.max(oldest, (now - since) / 1000);
  }
  return oldest;
}

/**
 * A Processing Video's estimated completion: the latest estimatedCompletionTime of its Running
 * renditions (the Video is done when its slowest rung is). Undefined while none of them has an
 * estimate yet: no report, a report without a speed, or a chunked rendition (its progress is chunks
 * done of total and carries no estimate; the fixed "oldest Processing" limit covers those).
 */
export function estimatedCompletion(v: Video): number | undefined {
  let latest: number | undefined;
  for (const r of v.status?.renditions ?? []) {
    if (r.phase !== 'Running') continue;
    const eta = ms(r.progress?.estimatedCompletionTime);
    if (eta !== undefined) latest = latest === undefined ? eta : Math.max(latest, eta);
  }
  return latest;
}

/**
 * Seconds by which now is past the estimated completion of the Processing Video furthest behind its
 * estimate (0 when none is past, or none has an estimate): what the "processing too long" alert
 * watches besides the oldest Processing Video's age.
 */
export function pastEtaSeconds(videos: readonly Video[], now: number): number {
  let worst = 0;
  for (const v of videos) {
    if (v.status?.phase !== 'Processing' || v.metadata.deletionTimestamp) continue;
    const eta = estimatedCompletion(v);
    if (eta !== undefined) worst = Math.max(worst, (now - eta) / 1000);
  }
  return worst;
}
