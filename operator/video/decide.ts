/**
 * Pure: from what was observed (the Video, the Jobs it owns, what the transcoders wrote) decide what
 * to do next and what the status should say. No I/O here; the reconciler observes and acts.
 *
 * Flow: finalizer → the thumbnail/probe Job and one Job per requested rendition, all in the same
 * pass (the probe is not on the critical path of the encodes) → read probe.json → record the source
 * and select the rungs no taller than it → all selected complete → read every rendition.json, check
 * segment alignment → write master.m3u8 once → Ready. A Job failed for good → Failed (sticky).
 * Finished renditions are never redone; a failed one is retried by its own Job's backoffLimit, then:
 *   - a transient failure (storage unreachable, an internal error, Pods evicted or deleted past the
 *     limit) is retried by the operator with backoff (`settings.retry`: limit, base delay doubling):
 *     the failed Job is deleted and recorded in status.retry.retiredJobs (ignored until it is gone),
 *     and a new one is created once status.retry.notBefore has passed; past the limit → Failed;
 *   - a permanent one (bad input: exit 2, usage: exit 64, OOMKilled, the deadline) → Failed at once,
 *     OOMKilled with reason OutOfMemory and a message that says memory;
 *   - a Failed Video is retried once per new value of the media.videoflix.io/retry annotation (an
 *     admin's `kubectl annotate`, or the admin console): its failed Jobs are deleted, the Failed
 *     condition cleared, and only what did not succeed runs again.
 *
 * Rungs taller than the source (the ladder rule: no rung taller than the source, the lowest requested
 * one always) are known only after the probe, but their Jobs started before it. Two guards, either
 * enough on its own:
 *   - the transcoder: every rung Job but the lowest requested one carries SKIP_TALLER_THAN_SOURCE=1;
 *     the program probes the source anyway (it needs stream indexes, size and frame rate), and when its
 *     rung is taller than the source it writes nothing and exits 0 within a second or two;
 *   - the operator: once the probe is recorded, such a rung is recorded `Skipped` exactly as before
 *     (same status, same `kubectl get videos` columns, same renditions for the API) whatever its Job
 *     did, and its Job is deleted (DeleteJobs), so only the Jobs that encode remain.
 * A rendition Job's outcome counts only after the probe (before it, its rung shows Running). When the
 * Video fails before the source is known (an unreadable source: the thumbnail Job fails with bad input,
 * no retry), its rendition Jobs are deleted and their rungs recorded Failed (their own bad-input
 * message) or Skipped. A failed Video also deletes the Jobs still running.
 */
import type { V1Job } from '@kubernetes/client-node';
import {
  ANNOTATIONS,
  CONDITION_TYPES,
  EXIT_CODES,
  FINALIZER,
  REASONS,
  RENDITIONS,
  DEFAULT_LADDER,
  keys,
  selectRenditions,
  type Condition,
  type LadderSettings,
  type ProbeResult,
  type RenditionMetadata,
  type RenditionName,
  type RenditionStatus,
  type RetryStatus,
  type Video,
  type VideoStatus,
} from '../../common/video/index.js';
import { backoffDelay } from '../../common/backoff/index.js';
import { buildJob, jobName, THUMBNAIL_TASK, type JobOptions, type JobSettings, type Task } from './jobs.js';
import { buildMasterPlaylist, checkSegmentAlignment } from './playlist.js';
import { derivePhase, removeCondition, setCondition, type ConditionInput } from './status.js';

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

export type Fetched<T> = { ok: T } | { error: string };

export interface Observed {
  video: Video;
  /** Jobs controlled by this Video, by name. */
  jobs: ReadonlyMap<string, V1Job>;
  /** probe.json, read when `needsProbe` said so. */
  probe?: Fetched<ProbeResult>;
  /** rendition.json of every selected rendition, read when `needsRenditionMetadata` said so. */
  metadata?: Fetched<RenditionMetadata[]>;
  /** Termination message of the last failed Pod, by Job name (the transcoder's own words). */
  terminationMessages?: ReadonlyMap<string, string>;
  /**
   * A processed Video's media check (a HEAD of its master playlist, paced by the controller's media
   * auditor), when one is known for the current master playlist: `missing` names what was not found.
   * Undefined = no news: the MediaAvailable condition stays as it is.
   */
  media?: MediaCheck;
  /** How the last failed Pod of a Job ended (exit code, reason such as OOMKilled), by Job name. */
  terminations?: ReadonlyMap<string, Termination>;
  /** On deletion: transcoder Pods of this Video that still exist (they could still upload). */
  remainingPods?: number;
  now: Date;
}

export interface MediaCheck {
  /** The master playlist key that was checked. */
  key: string;
  /** `<bucket>/<key>` of each object not found; empty = all there. */
  missing: string[];
}

export interface Termination {
  exitCode?: number;
  /** The container's terminated reason: Error, OOMKilled, ... */
  reason?: string;
  message?: string;
}

export interface RetrySettings {
  /** Automatic retries of transiently failed work per Video (0 = none: such failures are final). */
  limit: number;
  /** Delay before the first retry; doubled for each further one, up to maxDelaySeconds. */
  delaySeconds: number;
  maxDelaySeconds?: number;
}

export interface DecideSettings {
  jobs: JobSettings;
  ladder?: LadderSettings;
  alignmentToleranceSeconds?: number;
  /**
   * The only bucket a Video may name as its source (S3_SOURCE_BUCKET). The transcoder's credentials reach
   * more than that bucket, so a Video naming another one (the media bucket, another tenant's) is Failed
   * with SourceNotAllowed before any Job runs. Undefined = not checked.
   */
  sourceBucket?: string;
  /** Automatic retries of transient failures; none when absent. */
  retry?: RetrySettings;
}

export type Action =
  | { type: 'AddFinalizer' }
  | { type: 'RemoveFinalizer' }
  | { type: 'DeleteJobs'; names: string[] }
  | { type: 'CleanupMedia' }
  | { type: 'CreateJob'; task: Task; job: V1Job }
  | { type: 'WriteMaster'; key: string; body: string };

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Decision {
  actions: Action[];
  /** The status the Video should have; undefined = leave it alone. */
  status?: VideoStatus;
  events: EventSpec[];
  /** Look again after this delay even without a watch event (e.g. waiting for Pods to go). */
  requeueAfterMs?: number;
}

const requestedRenditions = (video: Video): RenditionName[] => {
  const req = video.spec.renditions ?? [...RENDITIONS];
  return RENDITIONS.filter((r) => req.includes(r));
};

/** Go-style duration text for the printer column: 45s, 2m5s, 1h2m3s. */
export function durationText(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${r}s`;
}

/** The renditions to encode, once the source has been probed. */
export function selectedRenditions(video: Video, ladder: LadderSettings = DEFAULT_LADDER): RenditionName[] {
  const height = video.status?.source?.height;
  if (!height) return [];
  return selectRenditions(requestedRenditions(video), height, ladder);
}

const hasFinalizer = (v: Video) => (v.metadata.finalizers ?? []).includes(FINALIZER);
const cond = (s: VideoStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

/** Observe step helper: probe.json is read once the thumbnail Job completed and before it was recorded. */
export function needsProbe(video: Video, jobs: ReadonlyMap<string, V1Job>): boolean {
  if (video.status?.source?.height) return false;
  const job = jobs.get(jobName(video, THUMBNAIL_TASK));
  return !!job && jobOutcome(job).state === 'Complete';
}

/** Observe step helper: rendition metadata is read once every selected rendition is done, before the master exists. */
export function needsRenditionMetadata(
  video: Video,
  jobs: ReadonlyMap<string, V1Job>,
  ladder?: LadderSettings,
): boolean {
  if (video.status?.masterPlaylistKey || cond(video.status, CONDITION_TYPES.failed)?.status === 'True')
    return false;
  const selected = selectedRenditions(video, ladder);
  if (selected.length === 0) return false;
  return selected.every((r) => {
    const prev = video.status?.renditions?.find((x) => x.name === r);
    if (prev?.phase === 'Succeeded') return true;
    const job = jobs.get(jobName(video, r));
    return !!job && jobOutcome(job).state === 'Complete';
  });
}

/** Observe step helper: failed Jobs whose Pod termination message is worth reading. */
export function failedJobs(video: Video, jobs: ReadonlyMap<string, V1Job>): string[] {
  if (cond(video.status, CONDITION_TYPES.failed)?.status === 'True') return [];
  return [...jobs.values()]
    .filter((j) => jobOutcome(j).state === 'Failed')
    .map((j) => j.metadata?.name ?? '');
}

interface Failure {
  reason: string;
  message: string;
}

function jobFailure(
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

/** status.retry without empty fields; undefined when nothing is left. */
function compactRetry(r: RetryStatus): RetryStatus | undefined {
  const out: RetryStatus = {};
  if (r.attempts) out.attempts = r.attempts;
  if (r.observedAnnotation !== undefined) out.observedAnnotation = r.observedAnnotation;
  if (r.notBefore) out.notBefore = r.notBefore;
  if (r.retiredJobs?.length) out.retiredJobs = r.retiredJobs.slice(-16);
  return Object.keys(out).length ? out : undefined;
}

export function decide(o: Observed, settings: DecideSettings): Decision {
  const { video, now } = o;
  let jobs = o.jobs;
  const ladder = settings.ladder ?? DEFAULT_LADDER;
  const gen = video.metadata.generation;
  const uid = video.metadata.uid ?? '';
  const actions: Action[] = [];
  const events: EventSpec[] = [];

  // Deletion: stop the transcoders (delete their Jobs, wait until their Pods are gone, so nothing
  // uploads afterwards), then remove the media, then the finalizer.
  if (video.metadata.deletionTimestamp) {
    if (!hasFinalizer(video)) return { actions, events };
    if (jobs.size > 0) {
      const names = [...jobs.keys()].sort();
      return {
        actions: [{ type: 'DeleteJobs', names }],
        events: [{ type: 'Normal', reason: REASONS.deleting, message: `Deleting Jobs ${names.join(', ')}` }],
        requeueAfterMs: 1_000,
      };
    }
    if ((o.remainingPods ?? 0) > 0) return { actions, events, requeueAfterMs: 1_000 };
    return {
      actions: [{ type: 'CleanupMedia' }, { type: 'RemoveFinalizer' }],
      events: [
        { type: 'Normal', reason: REASONS.deleting, message: `Removing objects under ${keys.prefix(uid)}` },
      ],
    };
  }

  const old = video.status ?? {};
  let conditions: Condition[] = [...(old.conditions ?? [])];
  const set = (c: Omit<ConditionInput, 'observedGeneration'>) => {
    conditions = setCondition(conditions, { ...c, observedGeneration: gen }, now);
  };

  // A finalizer before anything is created, so nothing can outlive the Video. Status starts Pending.
  if (!hasFinalizer(video)) {
    actions.push({ type: 'AddFinalizer' });
    if (!old.phase) {
      set({
        type: CONDITION_TYPES.ready,
        status: 'False',
        reason: REASONS.pending,
        message: 'Waiting to be processed',
      });
      return {
        actions,
        events: [{ type: 'Normal', reason: REASONS.pending, message: 'Accepted; processing starts shortly' }],
        status: {
          phase: derivePhase(conditions),
          observedGeneration: gen,
          conditions,
          message: 'Waiting to be processed',
        },
      };
    }
    return { actions, events, status: old };
  }

  // Retries. Jobs a retry deleted are ignored until they are gone (the cache may still show them).
  const retiredBefore = new Set(old.retry?.retiredJobs ?? []);
  const present = new Set([...jobs.values()].map((j) => j.metadata?.uid ?? ''));
  const retry: RetryStatus = {
    ...(old.retry ?? {}),
    retiredJobs: [...retiredBefore].filter((u) => present.has(u)),
  };
  jobs = new Map([...jobs].filter(([, j]) => !retiredBefore.has(j.metadata?.uid ?? '')));
  const failedNow = cond(old, CONDITION_TYPES.failed)?.status === 'True';
  const annotation = video.metadata.annotations?.[ANNOTATIONS.retry];
  const failedJobNames = [...jobs]
    .filter(([, j]) => jobOutcome(j).state === 'Failed' && !j.metadata?.deletionTimestamp)
    .map(([n]) => n)
    .sort();
  /** Deletes the failed Jobs and clears the failure; the next passes create what is missing. */
  const retryNow = (kind: 'admin' | 'auto', why: string, delayMs: number): Decision => {
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
    conditions = removeCondition(conditions, CONDITION_TYPES.failed);
    // the step that failed is in progress again (Processing)
    set({
      type: old.source?.height ? CONDITION_TYPES.transcoded : CONDITION_TYPES.probed,
      status: 'Unknown',
      reason: REASONS.retrying,
      message: why,
    });
    set({ type: CONDITION_TYPES.ready, status: 'False', reason: REASONS.retrying, message: why });
    const renditions = (old.renditions ?? []).map((r): RenditionStatus =>
      r.phase === 'Failed' || (r.phase === 'Skipped' && !old.source?.height)
        ? { name: r.name, phase: 'Pending', ...(r.message ? { message: `retrying: ${r.message}` } : {}) }
        : r,
    );
    const next: VideoStatus = { ...old, renditions, message: why, observedGeneration: gen };
    const compact = compactRetry(retry);
    if (compact) next.retry = compact;
    else delete next.retry;
    next.conditions = orderConditions(conditions);
    next.phase = derivePhase(next.conditions);
    return {
      actions: failedJobNames.length ? [{ type: 'DeleteJobs', names: failedJobNames }] : [],
      status: next,
      events: [{ type: kind === 'admin' ? 'Normal' : 'Warning', reason: REASONS.retrying, message: why }],
      requeueAfterMs: Math.max(1_000, delayMs),
    };
  };
  if (annotation !== undefined && annotation !== retry.observedAnnotation) {
    retry.observedAnnotation = annotation;
    if (failedNow) {
      const what = failedJobNames.length ? `re-running ${failedJobNames.join(', ')}` : 'deciding again';
      return retryNow('admin', `Retry requested (${ANNOTATIONS.retry}=${annotation}): ${what}`, 0);
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
    const counted = old.source?.height
      ? outcomes
      : outcomes.filter((x) => x.n === jobName(video, THUMBNAIL_TASK));
    if (
      counted.length > 0 &&
      counted.every((x) => !isPermanentFailure(x.outcome, x.term)) &&
      attempts < settings.retry.limit
    ) {
      const first = counted[0]!;
      const task =
        ([THUMBNAIL_TASK, ...RENDITIONS] as Task[]).find((t) => jobName(video, t) === first.n) ??
        THUMBNAIL_TASK;
      const f = jobFailure(task, first.outcome, o.terminationMessages?.get(first.n), first.term);
      const delay = retryDelayMs(settings.retry, attempts + 1);
      return retryNow(
        'auto',
        `${f.message}; transient: retrying in ${Math.round(delay / 1000)} s (retry ${attempts + 1} of ${settings.retry.limit})`,
        delay,
      );
    }
  }
  /** While an automatic retry's backoff runs, no Job is created. */
  const waitMs = retry.notBefore ? Date.parse(retry.notBefore) - now.getTime() : 0;
  let waiting = false;

  const status: VideoStatus = { ...old };
  const existingFailed = cond(old, CONDITION_TYPES.failed);
  let failure: Failure | undefined =
    existingFailed?.status === 'True'
      ? { reason: existingFailed.reason, message: existingFailed.message }
      : undefined;
  // Only the configured sources bucket, checked before anything runs (a Video already probed keeps its result).
  if (
    !failure &&
    !status.source?.height &&
    settings.sourceBucket !== undefined &&
    video.spec.source.bucket !== settings.sourceBucket
  ) {
    failure = {
      reason: REASONS.sourceNotAllowed,
      message: `source bucket ${JSON.stringify(video.spec.source.bucket)} is not allowed: a Video may only name the sources bucket ${JSON.stringify(settings.sourceBucket)}`,
    };
    set({ type: CONDITION_TYPES.probed, status: 'False', reason: failure.reason, message: failure.message });
  }
  const create = (task: Task, opts?: JobOptions) => {
    if (waitMs > 0) {
      waiting = true;
      return;
    }
    const job = buildJob(video, task, settings.jobs, opts);
    actions.push({ type: 'CreateJob', task, job });
    events.push({
      type: 'Normal',
      reason: REASONS.jobCreated,
      message: `Created Job ${job.metadata?.name} (${task})`,
    });
  };

  // 1. Thumbnail and probe.
  const thumbName = jobName(video, THUMBNAIL_TASK);
  if (!status.source?.height) {
    const job = jobs.get(thumbName);
    if (!job) {
      if (!failure) {
        create(THUMBNAIL_TASK);
        set({
          type: CONDITION_TYPES.probed,
          status: 'Unknown',
          reason: REASONS.probing,
          message: `Job ${thumbName} probes the source`,
        });
      }
    } else {
      const outcome = jobOutcome(job);
      if (outcome.state === 'Active') {
        set({
          type: CONDITION_TYPES.probed,
          status: 'Unknown',
          reason: REASONS.probing,
          message: `Job ${thumbName} probes the source`,
        });
      } else if (outcome.state === 'Failed') {
        failure ??= jobFailure(
          THUMBNAIL_TASK,
          outcome,
          o.terminationMessages?.get(thumbName),
          o.terminations?.get(thumbName),
        );
        set({
          type: CONDITION_TYPES.probed,
          status: 'False',
          reason: failure.reason,
          message: failure.message,
        });
      } else if (o.probe && 'ok' in o.probe) {
        const p = o.probe.ok;
        if (!(p.height > 0 && p.width > 0)) {
          failure ??= { reason: REASONS.invalidSource, message: 'the source has no video stream' };
          set({
            type: CONDITION_TYPES.probed,
            status: 'False',
            reason: REASONS.invalidSource,
            message: failure.message,
          });
        } else {
          status.source = {
            durationSeconds: p.durationSeconds,
            width: p.width,
            height: p.height,
            hasAudio: p.hasAudio,
          };
          status.durationText = durationText(p.durationSeconds);
          status.thumbnailKey = keys.thumbnail(uid);
          const msg = `${p.width}x${p.height}, ${p.durationSeconds.toFixed(1)} s, ${p.hasAudio ? 'with' : 'no'} audio`;
          set({ type: CONDITION_TYPES.probed, status: 'True', reason: REASONS.probed, message: msg });
          events.push({ type: 'Normal', reason: REASONS.probed, message: `Source probed: ${msg}` });
        }
      } else if (o.probe && 'error' in o.probe) {
        failure ??= { reason: REASONS.storageError, message: `probe.json: ${o.probe.error}` };
        set({
          type: CONDITION_TYPES.probed,
          status: 'False',
          reason: REASONS.storageError,
          message: failure.message,
        });
      }
    }
  }

  // 2. Renditions. Before the probe every requested rung's Job starts with the thumbnail Job; what
  // they report counts only once the source is known (the probe decides which rungs are kept).
  const requested = requestedRenditions(video);
  const lowest = ladder.rungs.find((r) => requested.includes(r.name))?.name;
  const previous = new Map((old.renditions ?? []).map((r) => [r.name, r]));
  /** Jobs to delete: rungs taller than the source, and what is left running of a failed Video. */
  const cancel = new Set<string>();
  const cancelJob = (jn: string) => {
    const job = jobs.get(jn);
    if (job && !job.metadata?.deletionTimestamp) cancel.add(jn);
  };
  if (!status.source?.height && failure) {
    // Failed before the source was known (unreadable source, probe failed): the rendition Jobs
    // started on speculation go; what they said is kept in the status.
    status.renditions = requested.map((name): RenditionStatus => {
      const jn = jobName(video, name);
      const prev = previous.get(name);
      if (prev?.phase === 'Failed' || prev?.phase === 'Skipped') return prev;
      cancelJob(jn);
      const job = jobs.get(jn);
      const outcome = job ? jobOutcome(job) : undefined;
      if (outcome?.state === 'Failed')
        return {
          name,
          phase: 'Failed',
          job: jn,
          message: jobFailure(name, outcome, o.terminationMessages?.get(jn), o.terminations?.get(jn)).message,
        };
      return { name, phase: 'Skipped', message: 'not encoded: the source could not be probed' };
    });
  } else if (!status.source?.height) {
    status.renditions = requested.map((name): RenditionStatus => {
      const jn = jobName(video, name);
      if (jobs.has(jn)) return { name, phase: 'Running', job: jn };
      // Rungs above the lowest skip themselves when taller than the source (same rule as below).
      create(name, { skipTallerThanSource: name !== lowest });
      return { name, phase: 'Pending', job: jn };
    });
  } else {
    const selected = selectRenditions(requested, status.source.height, ladder);
    const entries: RenditionStatus[] = [];
    for (const name of requested) {
      const prev = previous.get(name);
      const jn = jobName(video, name);
      if (!selected.includes(name)) {
        // Started before the probe: its Job goes (it exits at once by itself, having written nothing).
        cancelJob(jn);
        entries.push({ name, phase: 'Skipped', message: `taller than the ${status.source.height}p source` });
        continue;
      }
      if (prev?.phase === 'Succeeded') {
        entries.push(prev);
        continue;
      }
      const job = jobs.get(jn);
      if (!job) {
        if (!failure) {
          create(name);
          entries.push({ name, phase: 'Pending', job: jn });
        } else entries.push(prev ?? { name, phase: 'Pending' });
        continue;
      }
      const outcome = jobOutcome(job);
      if (outcome.state === 'Complete')
        entries.push({ name, phase: 'Succeeded', job: jn, playlistKey: keys.playlist(uid, name) });
      else if (outcome.state === 'Active') entries.push({ name, phase: 'Running', job: jn });
      else {
        const f = jobFailure(name, outcome, o.terminationMessages?.get(jn), o.terminations?.get(jn));
        failure ??= f;
        entries.push({ name, phase: 'Failed', job: jn, message: f.message });
      }
    }
    status.renditions = entries;
    const done = entries.filter((e) => e.phase === 'Succeeded').length;
    status.renditionsReady = done;
    status.renditionsTotal = selected.length;
    status.renditionsSummary = `${done}/${selected.length}`;

    const allDone = selected.length > 0 && done === selected.length;
    if (allDone && !failure && !status.masterPlaylistKey) {
      if (o.metadata && 'ok' in o.metadata) {
        const metas = o.metadata.ok;
        const alignment = checkSegmentAlignment(metas, settings.alignmentToleranceSeconds);
        if (!alignment.aligned) {
          failure = { reason: REASONS.segmentsMisaligned, message: alignment.message };
        } else {
          const key = keys.master(uid);
          actions.push({ type: 'WriteMaster', key, body: buildMasterPlaylist(metas) });
          status.masterPlaylistKey = key;
          events.push({
            type: 'Normal',
            reason: REASONS.playlistWritten,
            message: `Wrote ${key} (${alignment.message})`,
          });
        }
      } else if (o.metadata && 'error' in o.metadata) {
        failure = { reason: REASONS.storageError, message: `rendition metadata: ${o.metadata.error}` };
      }
    }
    if (failure)
      set({
        type: CONDITION_TYPES.transcoded,
        status: 'False',
        reason: failure.reason,
        message: failure.message,
      });
    else if (allDone && status.masterPlaylistKey)
      set({
        type: CONDITION_TYPES.transcoded,
        status: 'True',
        reason: REASONS.transcoded,
        message: `${done}/${selected.length} renditions`,
      });
    else
      set({
        type: CONDITION_TYPES.transcoded,
        status: 'Unknown',
        reason: REASONS.transcoding,
        message: `${done}/${selected.length} renditions done`,
      });
  }
  // A failed Video stops what still runs: nothing it produces can be used.
  if (failure) for (const [jn, job] of jobs) if (jobOutcome(job).state === 'Active') cancelJob(jn);
  if (cancel.size > 0) {
    const names = [...cancel].sort();
    actions.push({ type: 'DeleteJobs', names });
    events.push({
      type: 'Normal',
      reason: REASONS.jobsCancelled,
      message: `Deleted Job${names.length > 1 ? 's' : ''} ${names.join(', ')} (${
        failure ? 'the Video failed' : 'rendition taller than the source'
      })`,
    });
  }

  // 3. Summary conditions, phase and message.
  if (failure && existingFailed?.status !== 'True' && (retry.attempts ?? 0) > 0) {
    const n = retry.attempts ?? 0;
    failure = { ...failure, message: `${failure.message} (after ${n} automatic retr${n > 1 ? 'ies' : 'y'})` };
  }
  if (failure) {
    set({ type: CONDITION_TYPES.failed, status: 'True', reason: failure.reason, message: failure.message });
    set({ type: CONDITION_TYPES.ready, status: 'False', reason: failure.reason, message: failure.message });
    status.message = failure.message;
    if (existingFailed?.status !== 'True')
      events.push({ type: 'Warning', reason: failure.reason, message: failure.message });
  } else if (status.masterPlaylistKey && mediaMissing(o, old)) {
    // Processed, but its media disappeared (a lost volume, a bucket emptied by hand): not playable.
    // Not the sticky Failed condition: once the media are back, the Video is Ready again.
    conditions = removeCondition(conditions, CONDITION_TYPES.failed);
    const message = mediaMissingMessage(o, old);
    set({ type: CONDITION_TYPES.mediaAvailable, status: 'False', reason: REASONS.mediaMissing, message });
    set({ type: CONDITION_TYPES.ready, status: 'False', reason: REASONS.mediaMissing, message });
    status.message = message;
    if (cond(old, CONDITION_TYPES.mediaAvailable)?.status !== 'False')
      events.push({ type: 'Warning', reason: REASONS.mediaMissing, message });
  } else if (status.masterPlaylistKey) {
    conditions = removeCondition(conditions, CONDITION_TYPES.failed);
    const names = (status.renditions ?? []).filter((r) => r.phase === 'Succeeded').map((r) => r.name);
    if (cond(old, CONDITION_TYPES.mediaAvailable)?.status === 'False') {
      const message = `${status.masterPlaylistKey} found again`;
      set({ type: CONDITION_TYPES.mediaAvailable, status: 'True', reason: REASONS.mediaAvailable, message });
      events.push({ type: 'Normal', reason: REASONS.mediaAvailable, message: `Media available: ${message}` });
    }
    set({
      type: CONDITION_TYPES.ready,
      status: 'True',
      reason: REASONS.ready,
      message: `Playable: ${names.join(', ')}`,
    });
    status.message = `Ready: ${names.join(', ')}`;
    if (cond(old, CONDITION_TYPES.ready)?.status !== 'True')
      events.push({
        type: 'Normal',
        reason: REASONS.ready,
        message: `HLS ladder ready: ${names.join(', ')}`,
      });
  } else {
    const probing = !status.source?.height;
    const reason = probing ? REASONS.probing : REASONS.transcoding;
    const message = probing
      ? 'Probing the source'
      : `Transcoding: ${status.renditionsSummary} renditions done`;
    set({ type: CONDITION_TYPES.ready, status: 'False', reason, message });
    status.message = message;
  }
  status.conditions = orderConditions(conditions);
  status.phase = derivePhase(status.conditions);
  status.observedGeneration = gen;
  if (retry.notBefore && waitMs <= 0) delete retry.notBefore;
  const compact = compactRetry(retry);
  if (compact) status.retry = compact;
  else delete status.retry;
  return {
    actions,
    status,
    events,
    ...(waiting ? { requeueAfterMs: Math.max(1_000, waitMs) } : {}),
  };
}

const ORDER: string[] = [
  CONDITION_TYPES.ready,
  CONDITION_TYPES.probed,
  CONDITION_TYPES.transcoded,
  CONDITION_TYPES.failed,
  CONDITION_TYPES.mediaAvailable,
];

/** Whether a processed Video's media are missing: the latest check says so, or (no news) the condition. */
function mediaMissing(o: Observed, old: VideoStatus): boolean {
  const check = o.media?.key === old.masterPlaylistKey ? o.media : undefined;
  if (check) return check.missing.length > 0;
  return cond(old, CONDITION_TYPES.mediaAvailable)?.status === 'False';
}

function mediaMissingMessage(o: Observed, old: VideoStatus): string {
  const missing = o.media?.key === old.masterPlaylistKey ? o.media?.missing : undefined;
  if (missing?.length) return `Media missing: ${missing.join(', ')} not found in object storage`;
  return cond(old, CONDITION_TYPES.mediaAvailable)?.message ?? 'Media missing';
}
function orderConditions(c: Condition[]): Condition[] {
  const rank = (t: string) => (ORDER.includes(t) ? ORDER.indexOf(t) : ORDER.length);
  return [...c].sort((a, b) => rank(a.type) - rank(b.type));
}
