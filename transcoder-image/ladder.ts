/**
 * The effective ladder of one transcoder run is resolved in common/video/ladder.ts (resolveLadder:
 * the one resolution of LADDER_JSON / SEGMENT_SECONDS, shared with the operator). What is the
 * transcoder's own: the rate-control numbers ffmpeg gets.
 */
import type { LadderRung, LadderSettings } from '../common/video/index.js';

/** The rate-control numbers of one rung, in kbit/s, as ffmpeg gets them. */
export function rateControl(r: LadderRung, ladder: LadderSettings) {
  return {
    videoKbps: r.videoKbps,
    maxrateKbps: Math.round(r.videoKbps * ladder.maxrateFactor),
    bufsizeKbps: Math.round(r.videoKbps * ladder.bufsizeFactor),
    audioKbps: r.audioKbps,
  };
}
