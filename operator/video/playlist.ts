/**
 * Pure: the HLS master playlist from the metadata each transcoder wrote, and the check that segment
 * boundaries line up across renditions (so a player can switch variants on any segment).
 */
import type { RenditionMetadata } from '../../common/video/index.js';

/** Relative URI of a variant playlist, resolved against `<id>/master.m3u8`. */
export const variantUri = (name: string) => `${name}/index.m3u8`;

function quoted(s: string): string {
  return `"${s.replace(/"/g, '')}"`;
}

/** One `#EXT-X-STREAM-INF` line per rendition, lowest bandwidth first (RFC 8216 §4.3.4.2). */
export function buildMasterPlaylist(metas: readonly RenditionMetadata[]): string {
  if (metas.length === 0) throw new Error('no renditions for the master playlist');
  const sorted = [...metas].sort((a, b) => a.bandwidth - b.bandwidth || a.height - b.height);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const m of sorted) {
    const attrs = [
      `BANDWIDTH=${Math.round(m.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(m.averageBandwidth)}`,
      `RESOLUTION=${m.width}x${m.height}`,
      `CODECS=${quoted(m.codecs)}`,
      `FRAME-RATE=${m.frameRate.toFixed(3)}`,
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, variantUri(m.name));
  }
  return `${lines.join('\n')}\n`;
}

export interface AlignmentResult {
  aligned: boolean;
  message: string;
}

/**
 * Segment boundaries line up when every rendition has the same number of segments and each boundary
 * starts within `toleranceSeconds` of the same boundary in the first rendition.
 */
export function checkSegmentAlignment(
  metas: readonly RenditionMetadata[],
  toleranceSeconds = 0.1,
): AlignmentResult {
  if (metas.length <= 1) return { aligned: true, message: 'single rendition' };
  const [ref, ...rest] = metas as [RenditionMetadata, ...RenditionMetadata[]];
  for (const m of rest) {
    if (m.segmentStarts.length !== ref.segmentStarts.length) {
      return {
        aligned: false,
        message: `${m.name} has ${m.segmentStarts.length} segments, ${ref.name} has ${ref.segmentStarts.length}`,
      };
    }
    for (let i = 0; i < m.segmentStarts.length; i++) {
      const a = ref.segmentStarts[i]!;
      const b = m.segmentStarts[i]!;
      if (Math.abs(a - b) > toleranceSeconds) {
        return {
          aligned: false,
          message: `segment ${i} starts at ${b.toFixed(3)} s in ${m.name} but at ${a.toFixed(3)} s in ${ref.name}`,
        };
      }
    }
  }
  return {
    aligned: true,
    message: `${metas.length} renditions, ${ref.segmentStarts.length} aligned segments each`,
  };
}
