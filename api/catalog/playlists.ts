/**
 * Pure: playlists as served. The operator writes master.m3u8 with variant URIs `<res>/index.m3u8`
 * and ffmpeg writes segment URIs as bare names (`segment_000.ts`), both relative, so a player that
 * loaded `/api/video/<id>/master.m3u8` resolves them to `/api/video/<id>/<res>/index.m3u8` and
 * `/api/video/<id>/<res>/segment_000.ts` (the segment route answers with and without the trailing
 * slash). `servedPlaylist` keeps it that way whatever a writer did: a URI that names a variant or
 * a segment through some other path (absolute, with directories, an S3 URL) is cut down to the
 * relative form our routes answer; tags and anything unrecognised pass unchanged.
 */
import { RENDITIONS, SEGMENT_PATTERN } from '../../common/video/index.js';

const VARIANT = new RegExp(`(?:^|/)(${RENDITIONS.join('|')})/index\\.m3u8$`);

function uriPath(line: string): string {
  try {
    return new URL(line, 'http://relative.invalid/').pathname;
  } catch {
    return line;
  }
}

export function servedPlaylist(text: string, kind: 'master' | 'media'): string {
  return text
    .split(/\r?\n/)
    .map((line) => {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return line;
      const path = uriPath(trimmed);
      if (kind === 'master') {
        const m = VARIANT.exec(path);
        return m ? `${m[1]}/index.m3u8` : line;
      }
      const base = path.slice(path.lastIndexOf('/') + 1);
      return SEGMENT_PATTERN.test(base) ? base : line;
    })
    .join('\n');
}
