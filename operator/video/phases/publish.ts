/**
 * Pure phase: publish. Once every selected rendition is done, their rendition.json must agree
 * (segments aligned across renditions); then master.m3u8 is written and Transcoded is True.
 *
 * Written once per ladder: the master lists the rungs that were done when it was written, and
 * Transcoded=True says it is current. A ladder that grows (a rung added to spec.renditions, the CRD
 * lets it only grow) makes the renditions phase start the new rung's Job; this pass then finds
 * done < selected and sets Transcoded=Unknown, so once the new rung is done the master is stale and
 * is written again with every rung (the old one served meanwhile: the Video stays Ready, playable with
 * the rungs it had; see operator/README.md, "A ladder that grows").
 */
import { CONDITION_TYPES, keys, REASONS, type VideoStatus } from '../../../common/video/index.js';
import { buildMasterPlaylist, checkSegmentAlignment } from '../playlist.js';
import { emptyPart, type Failure, type Pass, type Part } from './types.js';

/**
 * Whether the master playlist written lists the whole ladder: written, and Transcoded=True (a rung
 * added since makes the publish phase set Transcoded=Unknown until the master is written again).
 */
export function masterCurrent(status: VideoStatus | undefined): boolean {
  if (!status?.masterPlaylistKey) return false;
  return status.conditions?.find((c) => c.type === CONDITION_TYPES.transcoded)?.status === 'True';
}

export interface PublishPart extends Part {
  /** The master playlist's key, once written (by this pass or an earlier one). */
  masterPlaylistKey?: string;
}

/** `selected` and `done`: the renditions phase's count, once the source is known. */
export function publishPhase(
  pass: Pass,
  progress: { selected: number; done: number },
  failure: Failure | undefined,
): PublishPart {
  const { o, old, uid, settings } = pass;
  const part: PublishPart = emptyPart(failure);
  if (old.masterPlaylistKey) part.masterPlaylistKey = old.masterPlaylistKey;
  const { selected, done } = progress;
  const allDone = selected > 0 && done === selected;
  // the master lists every rung only when current already or written by this pass: a chunked rung
  // added to a Ready Video turns Succeeded in the pass that writes its files, before its rendition.json
  // is read (the next pass), and the old master's key must not pass for the new one meanwhile
  let current = masterCurrent(old);
  if (allDone && !part.failure && !current) {
    if (o.metadata && 'ok' in o.metadata) {
      const metas = o.metadata.ok;
      const alignment = checkSegmentAlignment(metas, settings.alignmentToleranceSeconds);
      if (!alignment.aligned)
        part.failure = { reason: REASONS.segmentsMisaligned, message: alignment.message };
      else {
        const key = keys.master(uid);
        part.actions.push({ type: 'WriteMaster', key, body: buildMasterPlaylist(metas) });
        part.masterPlaylistKey = key;
        current = true;
        part.events.push({
          type: 'Normal',
          reason: REASONS.playlistWritten,
          message: `Wrote ${key} (${alignment.message})`,
        });
      }
    } else if (o.metadata && 'error' in o.metadata)
      part.failure = { reason: REASONS.storageError, message: `rendition metadata: ${o.metadata.error}` };
  }
  const type = CONDITION_TYPES.transcoded;
  if (part.failure)
    part.conditions.push({
      type,
      status: 'False',
      reason: part.failure.reason,
      message: part.failure.message,
    });
  else if (allDone && part.masterPlaylistKey && current)
    part.conditions.push({
      type,
      status: 'True',
      reason: REASONS.transcoded,
      message: `${done}/${selected} renditions`,
    });
  else
    part.conditions.push({
      type,
      status: 'Unknown',
      reason: REASONS.transcoding,
      message: `${done}/${selected} renditions done`,
    });
  return part;
}
