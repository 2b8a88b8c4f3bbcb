/**
 * Pure: a chunked rendition (issue 24, common/video/chunks.ts). A source longer than the Video's
 * chunking threshold has each selected rung encoded by an Indexed Job `<video>-<res>-chunks`, created
 * once the source is known (the probe Job is Complete, so its audio pieces exist); the speculative
 * single Job of the rung deferred (it wrote nothing) and is deleted. Once every index completed, the
 * stitch Job `<video>-<res>-stitch`; once it completed, the chunks' metadata and the stitch report
 * (read by observe) are checked at every join, and index.m3u8 + rendition.json are written from them.
 */
import type { V1Job } from '@kubernetes/client-node';
import {
  checkChunks,
  keys,
  planChunks,
  REASONS,
  renditionMetadataFromChunks,
  stitchPlaylist,
  type ChunkPlan,
  type LadderSettings,
  type RenditionName,
  type RenditionStatus,
  type Video,
} from '../../../common/video/index.js';
import {
  buildChunksJob,
  buildStitchJob,
  chunksJobName,
  effectiveChunking,
  stitchJobName,
  type JobSettings,
} from '../jobs.js';
import { jobFailure, jobOutcome } from './outcomes.js';
import type { Failure, Pass, Part } from './types.js';

/** The Video's chunk plan once its source is known; undefined = encoded as one Job per rung. */
export function chunkPlanOf(
  video: Video,
  settings: JobSettings,
  ladder: LadderSettings,
  durationSeconds = video.status?.source?.durationSeconds,
): ChunkPlan | undefined {
  if (durationSeconds === undefined) return undefined;
  return planChunks(durationSeconds, effectiveChunking(video, settings), ladder.segmentSeconds);
}

/**
 * The chunk count of a rung: its chunk Job's completions once it exists (a change of the operator's
 * CHUNK_* settings while it runs changes nothing for it), else the plan's.
 */
export function chunkCount(job: V1Job | undefined, plan: ChunkPlan): number {
  const n = job?.spec?.completions;
  return n !== undefined && n > 0 ? n : plan.count;
}

/** Completed chunks of an Indexed Job: its completedIndexes ("0-3,5"), else its succeeded count. */
export function chunksDone(job: V1Job | undefined, total: number): number {
  if (!job) return 0;
  const ranges = job.status?.completedIndexes;
  if (ranges) {
    let n = 0;
    for (const part of ranges.split(',')) {
      const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
      if (a === undefined || Number.isNaN(a)) continue;
      n += b === undefined || Number.isNaN(b) ? 1 : b - a + 1;
    }
    return Math.min(n, total);
  }
  return Math.min(job.status?.succeeded ?? 0, total);
}

/** The rungs whose stitch Job completed and whose files are not written yet: observe reads their chunks. */
export function needsChunkMetadata(
  video: Video,
  jobs: ReadonlyMap<string, V1Job>,
  selected: readonly RenditionName[],
): RenditionName[] {
  return selected.filter((r) => {
    if (video.status?.renditions?.find((x) => x.name === r)?.phase === 'Succeeded') return false;
    const stitch = jobs.get(stitchJobName(video, r));
    return !!stitch && jobOutcome(stitch).state === 'Complete';
  });
}

/**
 * One selected, not yet finished rung of a chunked Video: its status after this pass; actions,
 * events and a failure go into `part`.
 */
export function chunkedRendition(
  pass: Pass,
  part: Part & { failure?: Failure },
  name: RenditionName,
  plan: ChunkPlan,
  prev: RenditionStatus | undefined,
): RenditionStatus {
  const { o, video, jobs, uid, settings } = pass;
  const cj = chunksJobName(video, name);
  const sj = stitchJobName(video, name);
  const chunkJob = jobs.get(cj);
  const total = chunkCount(chunkJob, plan);
  const status = (phase: RenditionStatus['phase'], done: number, extra: Partial<RenditionStatus> = {}) =>
    ({ name, phase, job: cj, chunks: { done, total }, ...extra }) satisfies RenditionStatus;
  const fail = (f: Failure, done: number): RenditionStatus => {
    part.failure ??= f;
    return status('Failed', done, { message: f.message });
  };
  const create = (job: V1Job, what: string): boolean => {
    if (pass.waitMs > 0) {
      part.waiting = true;
      return false;
    }
    part.actions.push({ type: 'CreateJob', task: name, job });
    part.events.push({
      type: 'Normal',
      reason: REASONS.jobCreated,
      message: `Created Job ${job.metadata?.name} (${name} ${what})`,
    });
    return true;
  };

  if (!chunkJob) {
    if (part.failure) return prev ?? { name, phase: 'Pending' };
    const created = create(
      buildChunksJob(video, name, plan, settings.jobs),
      `in ${total} chunks of ${plan.chunkSeconds} s`,
    );
    return status(created ? 'Running' : 'Pending', 0);
  }
  const outcome = jobOutcome(chunkJob);
  const done = outcome.state === 'Complete' ? total : chunksDone(chunkJob, total);
  if (outcome.state === 'Failed')
    return fail(jobFailure(name, outcome, o.terminationMessages?.get(cj), o.terminations?.get(cj)), done);
  if (outcome.state === 'Active') return status('Running', done);

  const stitch = jobs.get(sj);
  if (!stitch) {
    if (part.failure) return status('Running', done);
    const created = create(
      buildStitchJob(video, name, { ...plan, count: total }, settings.jobs),
      `stitch of ${total} chunks`,
    );
    return status(created ? 'Running' : 'Pending', done);
  }
  const stitched = jobOutcome(stitch);
  if (stitched.state === 'Failed') {
    const f = jobFailure(name, stitched, o.terminationMessages?.get(sj), o.terminations?.get(sj));
    // the stitch's own check failed (exit badInput → podFailurePolicy FailJob): the chunks do not join
    const reason = stitched.reason === 'PodFailurePolicy' ? REASONS.chunkCheckFailed : f.reason;
    return fail(
      { reason, message: f.message.replace(`rendition ${name}:`, `rendition ${name} stitch:`) },
      done,
    );
  }
  if (stitched.state === 'Active') return status('Running', done);

  const fetched = o.chunks?.get(name);
  if (!fetched) return status('Running', done);
  if ('error' in fetched)
    return fail(
      { reason: REASONS.storageError, message: `rendition ${name} chunks: ${fetched.error}` },
      done,
    );
  const { chunks, report } = fetched.ok;
  const why = checkChunks(chunks, report);
  // the Warning event comes with the Failed condition (summary phase), as for every failure
  if (why) return fail({ reason: REASONS.chunkCheckFailed, message: `rendition ${name}: ${why}` }, done);
  const playlistKey = keys.playlist(uid, name);
  const metadata = { ...renditionMetadataFromChunks(chunks), name };
  part.actions.push({
    type: 'WriteRendition',
    rendition: name,
    playlistKey,
    playlist: stitchPlaylist(chunks),
    metadataKey: keys.renditionMeta(uid, name),
    metadata: JSON.stringify(metadata),
  });
  part.events.push({
    type: 'Normal',
    reason: REASONS.chunksStitched,
    message: `Wrote ${playlistKey} from ${total} chunks (${metadata.segmentCount} segments, every join checked)`,
  });
  return { name, phase: 'Succeeded', job: cj, playlistKey, chunks: { done: total, total } };
}
