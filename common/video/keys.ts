/** Object key layout in the media bucket (DESIGN.md). The only place keys are built. */
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
  /** Key of an uploaded source in the sources bucket. */
  source: (id: string, filename = 'source') => `${id}/${filename}`,
};

/** Segment file name as the original backend named them: segment_000.ts */
export function segmentName(index: number): string {
  return `segment_${String(index).padStart(3, '0')}.ts`;
}
