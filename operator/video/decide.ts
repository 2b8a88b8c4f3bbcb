/**
 * Pure: from what was observed (the Video, the Jobs it owns, what the transcoders wrote) decide what
 * to do next and what the status should say, once per pass: the reconciler observes, calls decide()
 * once, performs the actions in order and writes the status it returned. No I/O here.
 *
 * The pass is composed of phases (./phases/), each a pure function returning its part:
 *   deletion   → a Video being deleted: stop its Jobs, wait for their Pods, remove the media, then
 *                the finalizer (the whole decision);
 *   finalizer  → AddFinalizer first, in the same pass as the first Jobs (no separate Pending step);
 *   retry      → an admin's retry annotation or an automatic retry of a transient failure (the whole
 *                decision when one starts; otherwise the Jobs that count and the backoff);
 *   probe      → the sources bucket check, the thumbnail/probe Job, then probe.json;
 *   renditions → one Job per requested rung, started with the probe Job; once the source is known,
 *                the rungs no taller than it are kept, the others Skipped and their Jobs deleted;
 *                a source longer than the chunking threshold: per kept rung an Indexed Job of
 *                chunks, then a stitch Job, then index.m3u8 + rendition.json from the checked
 *                chunks (phases/chunks.ts);
 *   publish    → all selected done: rendition.json aligned → master.m3u8 written once → Transcoded;
 *   summary    → Failed (sticky) / MediaAvailable / Ready, the message, the events of a change.
 * The status describes the Video once the actions are done: a Job created in this pass is Running.
 *
 * Finished renditions are never redone; a failed one is retried by its own Job's backoffLimit, then
 * a transient failure (storage unreachable, an internal error, Pods evicted) is retried by the
 * operator with backoff (`settings.retry`), a permanent one (bad input: exit 2, usage: exit 64,
 * OOMKilled, the deadline) fails the Video at once. Rungs taller than the source are guarded twice:
 * the transcoder (SKIP_TALLER_THAN_SOURCE=1 on every rung Job but the lowest requested one) and the
 * operator (once probed, such a rung is recorded Skipped whatever its Job did, and its Job deleted).
 */
import { CONDITION_TYPES, DEFAULT_LADDER, type VideoStatus } from '../../common/video/index.js';
import { derivePhase } from './status.js';
import { applyConditions, compactRetry } from './phases/conditions.js';
import { deletion, finalizer } from './phases/lifecycle.js';
import { cond, isFailed } from './phases/outcomes.js';
import { probePhase } from './phases/probe.js';
import { foldProgress, progressSummary } from './phases/progress.js';
import { publishPhase } from './phases/publish.js';
import { cancellations, renditionsPhase } from './phases/renditions.js';
import { retryPhase } from './phases/retry.js';
import { summaryPhase } from './phases/summary.js';
import type { Decision, DecideSettings, Failure, Observed, Part, Pass } from './phases/types.js';

export type * from './phases/types.js';
export type { JobOutcome, JobState } from './phases/outcomes.js';
export { isPermanentFailure, jobOutcome, retryDelayMs, selectedRenditions } from './phases/outcomes.js';
export { failedJobs, needsProbe, needsRenditionMetadata } from './phases/needs.js';
export { chunkCount, chunkPlanOf, chunksDone, needsChunkMetadata } from './phases/chunks.js';
export { durationText } from './phases/probe.js';

export function decide(o: Observed, settings: DecideSettings): Decision {
  const gone = deletion(o);
  if (gone) return gone;
  const first = finalizer(o.video);
  const r = retryPhase(o, settings);
  if (r.decision) return { ...r.decision, actions: [...first, ...r.decision.actions] };

  const { video } = o;
  const old = video.status ?? {};
  const pass: Pass = {
    o,
    settings,
    video,
    old,
    ladder: settings.ladder ?? DEFAULT_LADDER,
    uid: video.metadata.uid ?? '',
    jobs: r.jobs,
    waitMs: r.waitMs,
  };
  const failed = cond(old, CONDITION_TYPES.failed);
  const existing: Failure | undefined =
    failed && isFailed(old) ? { reason: failed.reason, message: failed.message } : undefined;

  const status: VideoStatus = { ...old };
  const probe = probePhase(pass, existing);
  if (probe.probed) {
    status.source = probe.probed.source;
    status.durationText = probe.probed.durationText;
    status.thumbnailKey = probe.probed.thumbnailKey;
  }
  const renditions = renditionsPhase(
    pass,
    status.source?.height ?? 0,
    probe.failure,
    status.source?.durationSeconds,
  );
  status.renditions = renditions.renditions;
  if (renditions.chunks) status.chunksSummary = `${renditions.chunks.done}/${renditions.chunks.total}`;
  else delete status.chunksSummary;
  const parts: Part[] = [probe, renditions];
  let failure = renditions.failure;
  if (renditions.selected) {
    const total = renditions.selected.length;
    const done = renditions.done ?? 0;
    Object.assign(status, {
      renditionsReady: done,
      renditionsTotal: total,
      renditionsSummary: `${done}/${total}`,
    });
    const publish = publishPhase(pass, { selected: total, done }, failure);
    parts.push(publish);
    failure = publish.failure;
    if (publish.masterPlaylistKey) status.masterPlaylistKey = publish.masterPlaylistKey;
  }
  parts.push(cancellations(pass, renditions.cancel, failure, renditions.deferred));
  const summary = summaryPhase(pass, {
    ...(failure ? { failure } : {}),
    ...(status.masterPlaylistKey ? { masterPlaylistKey: status.masterPlaylistKey } : {}),
    renditions: status.renditions,
    probed: !!status.source?.height,
    ...(status.renditionsSummary !== undefined ? { renditionsSummary: status.renditionsSummary } : {}),
    attempts: r.retry.attempts ?? 0,
  });
  parts.push(summary);

  const gen = video.metadata.generation;
  status.message = summary.message;
  status.conditions = applyConditions(old.conditions, parts, gen, o.now);
  status.phase = derivePhase(status.conditions);
  status.renditions = foldProgress(status.renditions, old.renditions, o.progress, o.now);
  const progress = progressSummary(status.phase, status.renditions);
  if (progress) status.progressSummary = progress;
  else delete status.progressSummary;
  status.observedGeneration = gen;
  const retry = { ...r.retry };
  if (retry.notBefore && r.waitMs <= 0) delete retry.notBefore;
  const compact = compactRetry(retry);
  if (compact) status.retry = compact;
  else delete status.retry;
  const waiting = parts.some((p) => p.waiting);
  return {
    actions: [...first, ...parts.flatMap((p) => p.actions)],
    status,
    events: parts.flatMap((p) => p.events),
    ...(waiting ? { requeueAfterMs: Math.max(1_000, r.waitMs) } : {}),
  };
}
