/**
 * Path traversal on every HLS route (and the thumbnail), through the ingress with the admin's cookies:
 * dot segments raw and percent-encoded, encoded slashes, NUL bytes, absolute paths, overlong ids. Each is
 * refused (4xx, or a redirect by the ingress) and never answers a playlist, a segment or a file of the host.
 */
import { expect } from 'chai';
import { adminSession, call, type Session } from './support.js';

const DOTS = [
  '..',
  '%2e%2e',
  '.%2e',
  '%2E%2E',
  '..%2f..',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '..%5c..',
  '%252e%252e%252f',
  '....//',
];

describe('attack: path traversal on the HLS routes', () => {
  let session: Session;
  let id: string;
  before(async () => {
    session = await adminSession();
    const list = await call('GET', '/api/admin/videos/', { cookies: session.cookies });
    const ready = (JSON.parse(list.text) as { id: number; phase?: string }[]).find(
      (v) => v.phase === 'Ready',
    );
    id = String(ready?.id ?? 1); // a real Ready video (make dev's sample) when there is one
  });

  const expectRefused = async (path: string) => {
    const r = await call('GET', path, { cookies: session.cookies });
    // 4xx from the API, or from the ingress (Traefik refuses encoded slashes and NULs; a redirect to a
    // cleaned path is no answer either): never a 2xx, never a 5xx
    expect(r.status, `${path} → ${r.status} ${r.text.slice(0, 120)}`).to.be.within(300, 499);
    expect(r.text).not.to.match(/#EXTM3U|root:x:0:0|\[boot loader\]/);
  };

  it('refuses traversal in the video id (master.m3u8, thumbnail.jpg, index.m3u8, segments)', async () => {
    for (const bad of [
      ...DOTS,
      `${id}%00`,
      `${id}%2f..`,
      '-1',
      '0x1',
      '1e3',
      '99999999999999999999',
      '%00',
    ]) {
      await expectRefused(`/api/video/${bad}/master.m3u8`);
      await expectRefused(`/api/video/${bad}/thumbnail.jpg`);
      await expectRefused(`/api/video/${bad}/480p/index.m3u8`);
      await expectRefused(`/api/video/${bad}/480p/segment_000.ts/`);
    }
  });

  it('refuses traversal in the resolution', async () => {
    for (const bad of [...DOTS, '480p%2f..', '480p%00', '%2fetc', '480p..', '4k', '720p%2F..%2F1080p']) {
      await expectRefused(`/api/video/${id}/${bad}/index.m3u8`);
      await expectRefused(`/api/video/${id}/${bad}/segment_000.ts/`);
    }
  });

  it('refuses traversal in the segment name', async () => {
    for (const bad of [
      ...DOTS,
      '..%2Fmaster.m3u8',
      '..%2F720p%2Findex.m3u8',
      '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      'segment_000.ts%00.m3u8',
      'segment_000.ts%2f..%2f..%2fmaster.m3u8',
      'rendition.json',
      '%2fetc%2fpasswd',
      `segment_${'9'.repeat(300)}.ts`,
    ]) {
      await expectRefused(`/api/video/${id}/480p/${bad}/`);
      await expectRefused(`/api/video/${id}/480p/${bad}`);
    }
  });
});
