import { expect } from 'chai';
import {
  MAX_TERMINATION_MESSAGE_BYTES,
  renditionMetadataSchema,
  type RenditionMetadata,
} from '../../../common/video/index.js';
import {
  audioCodec,
  avcCodec,
  codecsString,
  measureBandwidth,
  parseMediaPlaylist,
  renditionMetadata,
  type SegmentMeasure,
  renditionTerminationMessage,
} from '../../../transcoder-image/metadata.js';
import type { ProbedStream } from '../../../transcoder-image/ffmpeg/types.js';

const PLAYLIST = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:6.000000,
segment_000.ts
#EXTINF:6.006000,
segment_001.ts
#EXTINF:1.968000,
segment_002.ts
#EXT-X-ENDLIST
`;

describe('transcoder rendition metadata', () => {
  describe('media playlist', () => {
    it('reads segments with their EXTINF durations', () => {
      const p = parseMediaPlaylist(PLAYLIST);
      expect(p.targetDuration).to.equal(6);
      expect(p.endList).to.equal(true);
      expect(p.version).to.equal(6);
      expect(p.segments).to.deep.equal([
        { uri: 'segment_000.ts', duration: 6, extinf: '6.000000' },
        { uri: 'segment_001.ts', duration: 6.006, extinf: '6.006000' },
        { uri: 'segment_002.ts', duration: 1.968, extinf: '1.968000' },
      ]);
    });

    it('notices an unfinished or malformed playlist', () => {
      expect(parseMediaPlaylist(PLAYLIST.replace('#EXT-X-ENDLIST\n', '')).endList).to.equal(false);
      expect(() => parseMediaPlaylist('segment_000.ts\n')).to.throw(/#EXTM3U/);
      expect(() => parseMediaPlaylist('#EXTM3U\nsegment_000.ts\n')).to.throw(/no #EXTINF/);
    });
  });

  describe('bandwidth', () => {
    it('peak is the highest bits/duration of a segment; average is total bits over total duration', () => {
      // 6 s of 1 500 000 bytes = 2 000 000 bit/s; 6 s of 2 250 000 bytes = 3 000 000; 2 s of 250 000 = 1 000 000
      const bw = measureBandwidth([
        { bytes: 1_500_000, duration: 6 },
        { bytes: 2_250_000, duration: 6 },
        { bytes: 250_000, duration: 2 },
      ]);
      expect(bw.peak).to.equal(3_000_000);
      // (1 500 000 + 2 250 000 + 250 000) × 8 / 14 = 2 285 714.28… → rounded up
      expect(bw.average).to.equal(2_285_715);
    });

    it('a short segment with a key frame can be the peak (as HLS defines BANDWIDTH)', () => {
      const bw = measureBandwidth([
        { bytes: 750_000, duration: 6 },
        { bytes: 200_000, duration: 0.5 },
      ]);
      expect(bw.peak).to.equal(3_200_000);
      expect(bw.average).to.equal(Math.ceil((950_000 * 8) / 6.5));
    });

    it('ignores zero-length segments and refuses to measure nothing', () => {
      expect(
        measureBandwidth([
          { bytes: 100, duration: 0 },
          { bytes: 1000, duration: 1 },
        ]).peak,
      ).to.equal(8000);
      expect(() => measureBandwidth([])).to.throw(/no segment/);
    });
  });

  describe('CODECS', () => {
    it('builds avc1.PPCCLL from the profile and level ffprobe reports', () => {
      expect(avcCodec('High', 31)).to.equal('avc1.64001f');
      expect(avcCodec('High', 40)).to.equal('avc1.640028');
      expect(avcCodec('High', 30)).to.equal('avc1.64001e');
      expect(avcCodec('Main', 31)).to.equal('avc1.4d401f');
      expect(avcCodec('Constrained Baseline', 30)).to.equal('avc1.42c01e');
      expect(avcCodec('High', 9)).to.equal('avc1.640009');
    });

    it('refuses what it cannot name', () => {
      expect(() => avcCodec('Super', 31)).to.throw(/profile/);
      expect(() => avcCodec('High', undefined)).to.throw(/level/);
      expect(() => avcCodec('High', -99)).to.throw(/level/);
    });

    it('names AAC LC mp4a.40.2 and the HE variants', () => {
      expect(audioCodec('aac', 'LC')).to.equal('mp4a.40.2');
      expect(audioCodec('aac', 'HE-AAC')).to.equal('mp4a.40.5');
      expect(audioCodec('aac', 'HE-AACv2')).to.equal('mp4a.40.29');
      expect(() => audioCodec('opus', undefined)).to.throw(/opus/);
    });

    it('lists video then audio, and video alone without an audio track', () => {
      expect(
        codecsString({ codecName: 'h264', profile: 'High', level: 31 }, { codecName: 'aac', profile: 'LC' }),
      ).to.equal('avc1.64001f,mp4a.40.2');
      expect(codecsString({ codecName: 'h264', profile: 'High', level: 40 })).to.equal('avc1.640028');
      expect(() => codecsString({ codecName: 'hevc', profile: 'Main', level: 93 })).to.throw(/hevc/);
    });
  });

  describe('rendition.json', () => {
    const video: ProbedStream = {
      index: 0,
      codecType: 'video',
      codecName: 'h264',
      profile: 'High',
      level: 31,
      width: 1280,
      height: 720,
      sampleAspectRatio: [1, 1],
      rotation: 0,
      frameRate: 30000 / 1001,
      attachedPicture: false,
    };
    const audio: ProbedStream = {
      ...video,
      index: 1,
      codecType: 'audio',
      codecName: 'aac',
      profile: 'LC',
      level: undefined,
    };
    const measures = new Map<string, SegmentMeasure>([
      ['segment_000.ts', { bytes: 1_500_000, start: 1.4, video, audio }],
      ['segment_001.ts', { bytes: 2_250_000, start: 7.406, video, audio }],
      ['segment_002.ts', { bytes: 500_000, start: 13.412, video, audio }],
    ]);

    it('combines the playlist and the segment measures', () => {
      const m = renditionMetadata(parseMediaPlaylist(PLAYLIST), measures, {
        name: '720p',
        segmentSeconds: 6,
      });
      expect(m).to.deep.equal({
        name: '720p',
        width: 1280,
        height: 720,
        bandwidth: Math.ceil((2_250_000 * 8) / 6.006),
        averageBandwidth: Math.ceil((4_250_000 * 8) / (6 + 6.006 + 1.968)),
        codecs: 'avc1.64001f,mp4a.40.2',
        frameRate: 29.97,
        segmentDuration: 6,
        segmentStarts: [0, 6.006, 12.012],
        durationSeconds: 13.974,
        segmentCount: 3,
        hasAudio: true,
      });
    });

    it('has no mp4a and hasAudio false without an audio track', () => {
      const silent = new Map([...measures].map(([k, v]) => [k, { ...v, audio: undefined }]));
      const m = renditionMetadata(parseMediaPlaylist(PLAYLIST), silent, { name: '720p', segmentSeconds: 6 });
      expect(m.codecs).to.equal('avc1.64001f');
      expect(m.hasAudio).to.equal(false);
    });

    it('refuses an unfinished playlist or a segment that was not measured', () => {
      const p = parseMediaPlaylist(PLAYLIST);
      expect(() =>
        renditionMetadata({ ...p, endList: false }, measures, { name: '720p', segmentSeconds: 6 }),
      ).to.throw(/ENDLIST/);
      const partial = new Map([...measures].slice(0, 2));
      expect(() => renditionMetadata(p, partial, { name: '720p', segmentSeconds: 6 })).to.throw(
        /segment_002\.ts .*not measured/,
      );
    });
  });

  describe('termination message', () => {
    const base = (count: number): RenditionMetadata => ({
      name: '1080p',
      width: 1920,
      height: 1080,
      bandwidth: 6_123_456,
      averageBandwidth: 5_234_567,
      codecs: 'avc1.640028,mp4a.40.2',
      frameRate: 29.97,
      segmentDuration: 6,
      // the widest starts a long source has: 5 digits and 3 decimals
      segmentStarts: Array.from({ length: count }, (_, i) => (i === 0 ? 0 : 10_000 + i * 6.006)),
      durationSeconds: count * 6,
      segmentCount: count,
      hasAudio: true,
    });

    it("is rendition.json as compact JSON, valid by the operator's schema", () => {
      const m = base(20);
      const text = renditionTerminationMessage(m)!;
      expect(text).to.not.include('\n');
      expect(renditionMetadataSchema.parse(JSON.parse(text))).to.deep.equal(m);
    });

    it("is left out when it would pass the kubelet's 4 KiB (the operator waits for the Job)", () => {
      let fits = 0;
      while (renditionTerminationMessage(base(fits + 1)) !== undefined) fits++;
      expect(Buffer.byteLength(JSON.stringify(base(fits)))).to.be.at.most(MAX_TERMINATION_MESSAGE_BYTES);
      expect(renditionTerminationMessage(base(fits + 1))).to.equal(undefined);
      // 6 s segments: even with the widest start times (5 digits, 3 decimals), 30 minutes of source fit
      expect(fits * 6).to.be.above(30 * 60);
    });
  });
});
