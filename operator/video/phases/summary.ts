/**
 * Pure phase: the summary. Failed (sticky) and Ready, the MediaAvailable condition of a processed
 * Video (its media checked by the auditor), the status message and the events of a change.
 */
import {
  CONDITION_TYPES,
  REASONS,
  type RenditionStatus,
  type VideoStatus,
} from '../../../common/video/index.js';
import { cond, isFailed } from './outcomes.js';
import { emptyPart, type Failure, type Observed, type Pass, type Part } from './types.js';

export interface SummaryInput {
  failure?: Failure;
  masterPlaylistKey?: string;
  renditions: readonly RenditionStatus[];
  /** Whether the source is known (probed). */
  probed: boolean;
  renditionsSummary?: string;
  /** Automatic retries so far. */
  attempts: number;
}

export interface SummaryPart extends Part {
  message: string;
}

export function summaryPhase(pass: Pass, s: SummaryInput): SummaryPart {
  const { o, old } = pass;
  const { READY, FAILED, MEDIA } = {
    READY: CONDITION_TYPES.ready,
    FAILED: CONDITION_TYPES.failed,
    MEDIA: CONDITION_TYPES.mediaAvailable,
  };
  const wasFailed = isFailed(old);
  let failure = s.failure;
  if (failure && !wasFailed && s.attempts > 0) {
    const n = s.attempts;
    failure = { ...failure, message: `${failure.message} (after ${n} automatic retr${n > 1 ? 'ies' : 'y'})` };
  }
  const part: SummaryPart = { ...emptyPart(failure), message: '' };
  const set = (type: string, status: 'True' | 'False', reason: string, message: string) =>
    part.conditions.push({ type, status, reason, message });
  if (failure) {
    set(FAILED, 'True', failure.reason, failure.message);
    set(READY, 'False', failure.reason, failure.message);
    part.message = failure.message;
    if (!wasFailed) part.events.push({ type: 'Warning', reason: failure.reason, message: failure.message });
  } else if (s.masterPlaylistKey && mediaMissing(o, old)) {
    // Processed, but its media disappeared (a lost volume, a bucket emptied by hand): not playable.
    // Not the sticky Failed condition: once the media are back, the Video is Ready again.
    const message = mediaMissingMessage(o, old);
    part.remove = [FAILED];
    set(MEDIA, 'False', REASONS.mediaMissing, message);
    set(READY, 'False', REASONS.mediaMissing, message);
    part.message = message;
    if (cond(old, MEDIA)?.status !== 'False')
      part.events.push({ type: 'Warning', reason: REASONS.mediaMissing, message });
  } else if (s.masterPlaylistKey) {
    part.remove = [FAILED];
    const names = s.renditions.filter((r) => r.phase === 'Succeeded').map((r) => r.name);
    if (cond(old, MEDIA)?.status === 'False') {
      const message = `${s.masterPlaylistKey} found again`;
      set(MEDIA, 'True', REASONS.mediaAvailable, message);
      part.events.push({
        type: 'Normal',
        reason: REASONS.mediaAvailable,
        message: `Media available: ${message}`,
      });
    }
    set(READY, 'True', REASONS.ready, `Playable: ${names.join(', ')}`);
    part.message = `Ready: ${names.join(', ')}`;
    if (cond(old, READY)?.status !== 'True')
      part.events.push({
        type: 'Normal',
        reason: REASONS.ready,
        message: `HLS ladder ready: ${names.join(', ')}`,
      });
  } else {
    const reason = s.probed ? REASONS.transcoding : REASONS.probing;
    const message = s.probed ? `Transcoding: ${s.renditionsSummary} renditions done` : 'Probing the source';
    set(READY, 'False', reason, message);
    part.message = message;
  }
  return part;
}

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
