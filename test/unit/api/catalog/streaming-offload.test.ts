/**
 * api/catalog/streaming.ts: the pure parts of streaming offload: the Host allow-list, the signing window,
 * the settings (the playlist rewrite in both modes: playlists.test.ts).
 */
import { expect } from 'chai';
import {
  MAX_WINDOW_SECONDS,
  SegmentUrls,
  allowedHost,
  normalizeHost,
  streamingHosts,
  windowSeconds,
} from '../../../../api/catalog/streaming.js';
import { catalogSchema } from '../../../../api/config.js';
import { loadConfig } from '../../../../common/config/index.js';
import { S3Presigner } from '../../../../common/storage/presign.js';

const presigner = new S3Presigner({ accessKey: 'AK', secretKey: 'SK', region: 'us-east-1' });

describe('api catalog: streaming offload (pure parts)', function () {
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
      const base = { presigner, bucket: 'b', ttlSeconds: 14400, hosts: new Set(['h']) };
      const urls = new SegmentUrls({ ...base, now: () => now });
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
