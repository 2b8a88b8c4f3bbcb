/**
 * Pure phase: publish. Once every selected rendition is done, their rendition.json must agree
 * (segments aligned across renditions); then master.m3u8 is written once and Transcoded is True.
 */
import { CONDITION_TYPES, keys, REASONS } from '../../../common/video/index.js';
import { buildMasterPlaylist, checkSegmentAlignment } from '../playlist.js';
import { emptyPart, type Failure, type Pass, type Part } from './types.js';

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
  if (allDone && !part.failure && !part.masterPlaylistKey) {
    if (o.metadata && 'ok' in o.metadata) {
      const metas = o.metadata.ok;
      const alignment = checkSegmentAlignment(metas, settings.alignmentToleranceSeconds);
      if (!alignment.aligned)
        part.failure = { reason: REASONS.segmentsMisaligned, message: alignment.message };
      else {
        const key = keys.master(uid);
        part.actions.push({ type: 'WriteMaster', key, body: buildMasterPlaylist(metas) });
        part.masterPlaylistKey = key;
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
  else if (allDone && part.masterPlaylistKey)
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
