/**
 * Pure phase: the source. Only the configured sources bucket (checked before anything runs); then
 * the thumbnail/probe Job; once it completed, probe.json gives the source (size, duration, audio).
 */
import { CONDITION_TYPES, keys, REASONS, type SourceInfo } from '../../../common/video/index.js';
import { jobName, THUMBNAIL_TASK } from '../jobs.js';
import { createJob } from './create.js';
import { jobFailure, jobOutcome } from './outcomes.js';
import { emptyPart, type Failure, type Pass, type Part } from './types.js';

export interface ProbePart extends Part {
  /** Set when this pass records the probe. */
  probed?: { source: SourceInfo; durationText: string; thumbnailKey: string };
}

/** Go-style duration text for the printer column: 45s, 2m5s, 1h2m3s. */
export function durationText(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${r}s`;
}

export function probePhase(pass: Pass, failure: Failure | undefined): ProbePart {
  const { o, old, settings, video, uid } = pass;
  const part: ProbePart = emptyPart(failure);
  /** Records `f` unless the Video failed already; Probed=False says why (`reason` overrides the failure's). */
  const fail = (f: Failure, reason = (part.failure ?? f).reason) => {
    part.failure ??= f;
    part.conditions.push({
      type: CONDITION_TYPES.probed,
      status: 'False',
      reason,
      message: part.failure.message,
    });
  };
  if (old.source?.height) return part;
  if (
    !part.failure &&
    settings.sourceBucket !== undefined &&
    video.spec.source.bucket !== settings.sourceBucket
  )
    fail({
      reason: REASONS.sourceNotAllowed,
      message: `source bucket ${JSON.stringify(video.spec.source.bucket)} is not allowed: a Video may only name the sources bucket ${JSON.stringify(settings.sourceBucket)}`,
    });
  const thumbName = jobName(video, THUMBNAIL_TASK);
  const probing = {
    type: CONDITION_TYPES.probed,
    status: 'Unknown' as const,
    reason: REASONS.probing,
    message: `Job ${thumbName} probes the source`,
  };
  const job = pass.jobs.get(thumbName);
  if (!job) {
    if (!part.failure) {
      createJob(pass, part, THUMBNAIL_TASK);
      part.conditions.push(probing);
    }
    return part;
  }
  const outcome = jobOutcome(job);
  if (outcome.state === 'Active') part.conditions.push(probing);
  else if (outcome.state === 'Failed')
    fail(
      jobFailure(
        THUMBNAIL_TASK,
        outcome,
        o.terminationMessages?.get(thumbName),
        o.terminations?.get(thumbName),
      ),
    );
  else if (o.probe && 'ok' in o.probe) {
    const p = o.probe.ok;
    if (!(p.height > 0 && p.width > 0))
      fail(
        { reason: REASONS.invalidSource, message: 'the source has no video stream' },
        REASONS.invalidSource,
      );
    else {
      part.probed = {
        source: {
          durationSeconds: p.durationSeconds,
          width: p.width,
          height: p.height,
          hasAudio: p.hasAudio,
        },
        durationText: durationText(p.durationSeconds),
        thumbnailKey: keys.thumbnail(uid),
      };
      const msg = `${p.width}x${p.height}, ${p.durationSeconds.toFixed(1)} s, ${p.hasAudio ? 'with' : 'no'} audio`;
      part.conditions.push({
        type: CONDITION_TYPES.probed,
        status: 'True',
        reason: REASONS.probed,
        message: msg,
      });
      part.events.push({ type: 'Normal', reason: REASONS.probed, message: `Source probed: ${msg}` });
    }
  } else if (o.probe && 'error' in o.probe)
    fail({ reason: REASONS.storageError, message: `probe.json: ${o.probe.error}` }, REASONS.storageError);
  return part;
}
