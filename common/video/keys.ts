/**
 * Object key layout (DESIGN.md): media keys under the Video's uid (`metadata.uid`, not the API's
 * catalog id) in the media bucket, and source keys in the sources bucket. Every component builds its
 * keys here; only the segment files' names come from ffmpeg (transcoder-image/ffmpeg/args.ts
 * `SEGMENT_FILE_PATTERN`, which `SEGMENT_PATTERN` and `segmentName` match).
 */
import type { RenditionName } from './constants.js';

export const SEGMENT_PATTERN = /^segment_\d{3,6}\.ts$/;

export const keys = {
  prefix: (id: string) => `${id}/`,
  master: (id: string) => `${id}/master.m3u8`,
  renditionPrefix: (id: string, res: RenditionName) => `${id}/${res}/`,
  playlist: (id: string, res: RenditionName) => `${id}/${res}/index.m3u8`,
  segment: (id: string, res: RenditionName, segment: string) => `${id}/${res}/${segment}`,
  renditionMeta: (id: string, res: RenditionName) => `${id}/${res}/rendition.json`,
  thumbnail: (id: string) => `${id}/thumbnail.jpg`,
  probe: (id: string) => `${id}/probe.json`,
  /** Key of an uploaded source in the sources bucket (the API passes a random UUID: no Video exists yet). */
  source: (id: string, filename = 'source') => `${id}/${filename}`,
};

/** Name of segment `index` as ffmpeg writes it (`segment_%03d.ts`) and the original backend served it: segment_000.ts */
export function segmentName(index: number): string {
  return `segment_${String(index).padStart(3, '0')}.ts`;
}
