import { expect } from 'chai';
import { servedPlaylist } from '../../../../api/catalog/playlists.js';
import { SegmentUrls, withSegmentUrls } from '../../../../api/catalog/streaming.js';
import { S3Presigner } from '../../../../common/storage/presign.js';
import { buildMasterPlaylist } from '../../../../operator/video/playlist.js';
import type { RenditionMetadata } from '../../../../common/video/index.js';

/** What the segment/playlist routes accept (the patterns of api/routes/catalog). */
const ROUTE =
  /^\/api\/video\/\d+\/(?:master\.m3u8|(480p|720p|1080p)\/index\.m3u8|(480p|720p|1080p)\/segment_\d{3,6}\.ts\/?)$/;
const uris = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

const meta = (name: '480p' | '720p', height: number, bandwidth: number): RenditionMetadata => ({
  name,
  width: Math.round((height * 16) / 9),
  height,
  bandwidth,
  averageBandwidth: bandwidth * 0.8,
  codecs: 'avc1.640028,mp4a.40.2',
  frameRate: 25,
  segmentDuration: 6,
  segmentStarts: [0, 6],
});

/** As ffmpeg's HLS muxer writes it with -hls_segment_filename <dir>/segment_%03d.ts */
const FFMPEG_INDEX = [
  '#EXTM3U',
  '#EXT-X-VERSION:6',
  '#EXT-X-TARGETDURATION:6',
  '#EXT-X-MEDIA-SEQUENCE:0',
  '#EXT-X-PLAYLIST-TYPE:VOD',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXTINF:6.000000,',
  'segment_000.ts',
  '#EXTINF:2.000000,',
  'segment_001.ts',
  '#EXT-X-ENDLIST',
  '',
].join('\n');

describe('api catalog: playlists as served resolve through our routes', function () {
  it("leaves the operator's master playlist unchanged, and its variants resolve to the variant route", function () {
    const master = buildMasterPlaylist([meta('480p', 480, 1_500_000), meta('720p', 720, 3_000_000)]);
    const served = servedPlaylist(master, 'master');
    expect(served).to.equal(master);
    const base = 'https://api.example.com/api/video/12/master.m3u8';
    for (const u of uris(served)) expect(new URL(u, base).pathname).to.match(ROUTE);
    expect(uris(served).map((u) => new URL(u, base).pathname)).to.deep.equal([
      '/api/video/12/480p/index.m3u8',
      '/api/video/12/720p/index.m3u8',
    ]);
  });

  it("leaves ffmpeg's media playlist unchanged, and its segments resolve to the segment route", function () {
    const served = servedPlaylist(FFMPEG_INDEX, 'media');
    expect(served).to.equal(FFMPEG_INDEX);
    const base = 'https://api.example.com/api/video/12/720p/index.m3u8';
    expect(uris(served).map((u) => new URL(u, base).pathname)).to.deep.equal([
      '/api/video/12/720p/segment_000.ts',
      '/api/video/12/720p/segment_001.ts',
    ]);
    for (const u of uris(served)) expect(new URL(u, base).pathname).to.match(ROUTE);
  });

  it('cuts URIs written with other paths down to the relative form', function () {
    const media = servedPlaylist(
      '#EXTM3U\n#EXTINF:6,\n/tmp/work/out/segment_000.ts\n#EXTINF:6,\nhttp://minio:9000/media/u/720p/segment_001.ts?X-Amz-Signature=abc\n',
      'media',
    );
    expect(uris(media)).to.deep.equal(['segment_000.ts', 'segment_001.ts']);
    const master = servedPlaylist(
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/media/u-1/480p/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\nhttps://cdn/u-1/1080p/index.m3u8\n',
      'master',
    );
    expect(uris(master)).to.deep.equal(['480p/index.m3u8', '1080p/index.m3u8']);
  });

  it('leaves tags and unknown lines alone, and CRLF playlists readable', function () {
    expect(servedPlaylist('#EXTM3U\r\n#EXTINF:6,\r\nsegment_000.ts\r\n', 'media')).to.equal(
      '#EXTM3U\n#EXTINF:6,\nsegment_000.ts\n',
    );
    expect(uris(servedPlaylist('#EXTM3U\nweird.bin\n', 'media'))).to.deep.equal(['weird.bin']);
  });

  describe('streaming offload', function () {
    const presigner = new S3Presigner({ accessKey: 'AK', secretKey: 'SK', region: 'us-east-1' });
    const UID = '0d8e7c1a-5b7e-4c1e-9a57-2f9f0b3c0e11';
    describe('the variant playlist rewrite (withSegmentUrls)', function () {
      it('proxy mode: segment names stay relative (resolved to the API segment route)', function () {
        expect(uris(servedPlaylist(FFMPEG_INDEX, 'media'))).to.deep.equal([
          'segment_000.ts',
          'segment_001.ts',
        ]);
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
  });
});
