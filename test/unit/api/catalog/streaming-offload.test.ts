/**
 * api/catalog/streaming.ts: the pure parts of streaming offload. The playlist rewrite in both modes,
 * the Host allow-list, the signing window.
 */
import { expect } from 'chai';
import { servedPlaylist } from '../../../../api/catalog/playlists.js';
import {
  MAX_WINDOW_SECONDS,
  SegmentUrls,
  allowedHost,
  normalizeHost,
  streamingHosts,
  windowSeconds,
  withSegmentUrls,
} from '../../../../api/catalog/streaming.js';
import { catalogSchema } from '../../../../api/config.js';
import { loadConfig } from '../../../../common/config/index.js';
import { S3Presigner } from '../../../../common/storage/presign.js';

const FFMPEG_INDEX = [
  '#EXTM3U',
  '#EXT-X-VERSION:6',
  '#EXT-X-TARGETDURATION:6',
  '#EXT-X-MEDIA-SEQUENCE:0',
  '#EXT-X-PLAYLIST-TYPE:VOD',
  '#EXTINF:6.000000,',
  'segment_000.ts',
  '#EXTINF:2.000000,',
  'segment_001.ts',
  '#EXT-X-ENDLIST',
  '',
].join('\n');
const uris = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
const presigner = new S3Presigner({ accessKey: 'AK', secretKey: 'SK', region: 'us-east-1' });
const UID = '0d8e7c1a-5b7e-4c1e-9a57-2f9f0b3c0e11';

describe('api catalog: streaming offload (pure parts)', function () {
  describe('the variant playlist rewrite', function () {
    it('proxy mode: segment names stay relative (resolved to the API segment route)', function () {
      expect(uris(servedPlaylist(FFMPEG_INDEX, 'media'))).to.deep.equal(['segment_000.ts', 'segment_001.ts']);
    });

    it('offload mode: each segment becomes a same-origin presigned URL of its own key; tags unchanged', function () {
      const at = Date.UTC(2026, 11, 4, 13, 0, 0);
      const urls = new SegmentUrls({
        presigner,
        bucket: 'videoflix-media',
        ttlSeconds: 14400,
        hosts: new Set(['videos.example.test']),
        now: () => at,
      });
      const out = withSegmentUrls(servedPlaylist(FFMPEG_INDEX, 'media'), (s) =>
        urls.url('videos.example.test', `${UID}/720p/${s}`),
      );
      const got = uris(out);
      expect(got).to.have.length(2);
      got.forEach((u, i) => {
        const url = new URL(u, 'https://videos.example.test/api/video/7/720p/index.m3u8');
        expect(url.origin, 'same origin as the playlist').to.equal('https://videos.example.test');
        expect(url.pathname).to.equal(`/videoflix-media/${UID}/720p/segment_00${i}.ts`);
        expect(url.searchParams.get('X-Amz-Expires')).to.equal('14400');
        expect(url.searchParams.get('X-Amz-Date')).to.equal('20261204T130000Z');
        expect(url.searchParams.get('X-Amz-Signature')).to.match(/^[0-9a-f]{64}$/);
      });
      expect(out.split('\n').filter((l) => l.startsWith('#'))).to.deep.equal(
        FFMPEG_INDEX.split('\n').filter((l) => l.startsWith('#')),
      );
      // the URLs differ per segment (each signs its own key)
      expect(
        new Set(got.map((u) => new URL(u, 'http://x').searchParams.get('X-Amz-Signature'))).size,
      ).to.equal(2);
    });

    it('leaves lines that are not segment names alone', function () {
      expect(withSegmentUrls('#EXTM3U\nweird.bin\n#EXTINF:1,\nsegment_1.ts\n', () => 'SIGNED')).to.equal(
        '#EXTM3U\nweird.bin\n#EXTINF:1,\nsegment_1.ts\n',
      );
    });
  });

  describe('the Host allow-list', function () {
    const allowed = streamingHosts(
      ['Videos.Example.test', 'https://alt.example.test:8443/', '127.0.0.1:8080'],
      'http://api.test',
    );
    it('normalizes entries (case, full URLs) and defaults to the public URL’s host', function () {
      expect([...allowed]).to.deep.equal(['videos.example.test', 'alt.example.test:8443', '127.0.0.1:8080']);
      expect([...streamingHosts([], 'http://127.0.0.1:8080/')]).to.deep.equal(['127.0.0.1:8080']);
      expect([...streamingHosts([], 'https://videoflix.example.com:443')]).to.deep.equal([
        'videoflix.example.com',
      ]);
      expect(normalizeHost(' a.test ')).to.equal('a.test');
    });

    it('answers the Host to sign for when allowed, whatever its case; undefined otherwise', function () {
      expect(allowedHost('videos.example.test', allowed)).to.equal('videos.example.test');
      expect(allowedHost('VIDEOS.example.test', allowed)).to.equal('VIDEOS.example.test');
      expect(allowedHost('127.0.0.1:8080', allowed)).to.equal('127.0.0.1:8080');
      for (const bad of [
        undefined,
        '',
        'evil.test',
        '127.0.0.1',
        '127.0.0.1:8081',
        'videos.example.test.evil.test',
        'alt.example.test',
      ])
        expect(allowedHost(bad, allowed), String(bad)).to.equal(undefined);
    });
  });

  describe('the signing window', function () {
    it('is a quarter of the TTL, at most 15 min, at least 1 s', function () {
      expect(windowSeconds(14400)).to.equal(MAX_WINDOW_SECONDS);
      expect(windowSeconds(600)).to.equal(150);
      expect(windowSeconds(2)).to.equal(1);
    });

    it('gives the same URL within a window and a new one after it; each stays valid ≥ TTL - window', function () {
      let now = Date.UTC(2026, 11, 4, 13, 7, 30);
      const urls = new SegmentUrls({
        presigner,
        bucket: 'b',
        ttlSeconds: 14400,
        hosts: new Set(['h']),
        now: () => now,
      });
      const first = urls.url('h', 'k/720p/segment_000.ts');
      now += 60_000;
      expect(urls.url('h', 'k/720p/segment_000.ts')).to.equal(first);
      now = Date.UTC(2026, 11, 4, 13, 15, 0);
      const next = urls.url('h', 'k/720p/segment_000.ts');
      expect(next).to.not.equal(first);
      const signedAt = (u: string) => new URL(u, 'http://x').searchParams.get('X-Amz-Date');
      expect(signedAt(first)).to.equal('20261204T130000Z');
      expect(signedAt(next)).to.equal('20261204T131500Z');
      // handed out at 13:14:59 at the latest, valid until 17:00: 3 h 45 min at least
      expect(14400 - MAX_WINDOW_SECONDS).to.equal(13500);
    });
  });

  describe('configuration', function () {
    const base = { S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' };
    it('defaults to proxy, a 4 h TTL and the public URL’s host', function () {
      const c = loadConfig(catalogSchema, base);
      expect(c.STREAMING_MODE).to.equal('proxy');
      expect(c.STREAMING_URL_TTL).to.equal(14400);
      expect(c.STREAMING_HOSTS).to.deep.equal([]);
    });
    it('refuses unknown modes and TTLs S3 would refuse', function () {
      expect(() => loadConfig(catalogSchema, { ...base, STREAMING_MODE: 'cdn' })).to.throw(/STREAMING_MODE/);
      for (const ttl of ['0', '59', '604801', 'x'])
        expect(() => loadConfig(catalogSchema, { ...base, STREAMING_URL_TTL: ttl }), ttl).to.throw(
          /STREAMING_URL_TTL/,
        );
      const c = loadConfig(catalogSchema, {
        ...base,
        STREAMING_MODE: 'offload',
        STREAMING_HOSTS: 'a.test, b.test:8080',
      });
      expect(c.STREAMING_HOSTS).to.deep.equal(['a.test', 'b.test:8080']);
    });
  });
});
