/**
 * The encoding ladder: one table for sizes, bitrates, preset and segment length.
 * The operator uses it to choose renditions (never taller than the source); the transcoder to encode.
 * Every field can be overridden through configuration (LADDER_JSON in the transcoder's environment).
 */
import type { RenditionName } from './constants.js';

export interface LadderRung {
  name: RenditionName;
  width: number;
  height: number;
  /** Video bitrate in kbit/s; maxrate ≈ 1.07×, bufsize 1.5×. */
  videoKbps: number;
  audioKbps: number;
}

export interface LadderSettings {
  rungs: LadderRung[];
  preset: string;
  profile: string;
  segmentSeconds: number;
  gopSeconds: number;
  maxrateFactor: number;
  bufsizeFactor: number;
}

export const DEFAULT_LADDER: LadderSettings = {
  rungs: [
    { name: '480p', width: 854, height: 480, videoKbps: 1400, audioKbps: 128 },
    { name: '720p', width: 1280, height: 720, videoKbps: 2800, audioKbps: 128 },
    { name: '1080p', width: 1920, height: 1080, videoKbps: 5000, audioKbps: 128 },
  ],
  preset: 'veryfast',
  profile: 'high',
  segmentSeconds: 6,
  gopSeconds: 2,
  maxrateFactor: 1.07,
  bufsizeFactor: 1.5,
};

export function rung(name: RenditionName, ladder: LadderSettings = DEFAULT_LADDER): LadderRung {
  const r = ladder.rungs.find((x) => x.name === name);
  if (!r) throw new Error(`unknown rendition ${name}`);
  return r;
}

/**
 * Renditions to produce for a source of the given height: the requested ones no taller than the
 * source, and at least the lowest requested one (never upscaled beyond that single rung).
 */
export function selectRenditions(
  requested: readonly RenditionName[],
  sourceHeight: number,
  ladder: LadderSettings = DEFAULT_LADDER,
): RenditionName[] {
  const ordered = ladder.rungs.filter((r) => requested.includes(r.name));
  const fitting = ordered.filter((r) => r.height <= sourceHeight).map((r) => r.name);
  if (fitting.length > 0) return fitting;
  return ordered.length > 0 ? [ordered[0]!.name] : [];
}
