/** common/video/chunks.ts: the plan, the stitched playlist, the checks and the rendition.json of a chunked rendition. */
import { expect } from 'chai';
import {
  checkChunks,
  checkMediaFile,
  chunkKeys,
  chunkLength,
  chunkMetadataSchema,
  stitchReportSchema,
  DEFAULT_CHUNKING,
  planChunks,
  renditionMetadataFromChunks,
  stitchPlaylist,
  type ChunkMetadata,
  type StitchReport,
} from '../../../common/video/index.js';

/**
 * What ffmpeg 5.1 wrote for one process (the transcoder's rendition task, 30 fps, 6 s segments) for a
 * 26 s source: 4 full segments and a 2 s one. The chunks below are shaped as that run's would be.
 */
const SINGLE_PROCESS_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:6.000000,
segment_000.ts
#EXTINF:6.000000,
segment_001.ts
#EXTINF:6.000000,
segment_002.ts
#EXTINF:6.000000,
segment_003.ts
#EXTINF:2.000000,
segment_004.ts
#EXT-X-ENDLIST
`;

const V0 = 216_000; // first video PTS: 1 s offset + 2 frames of B-frame delay, 90 kHz
const SEG = 540_000; // 6 s
const A0 = 214_080;

/** Chunks of 12 s (2 segments) of a 26 s, 30 fps source with 48 kHz AAC: 3 chunks, the last 2 s. */
function chunks(): ChunkMetadata[] {
  const seg = (n: number, seconds = 6) => {
    const first = V0 + n * SEG;
    const frames = seconds * 30;
    const aFirst = n === 0 ? A0 : A0 + n * 281 * 1920;
    const packets = seconds === 6 ? 281 : 94;
    return {
      name: `segment_${String(n).padStart(3, '0')}.ts`,
      extinf: `${seconds}.000000`,
      bytes: 400_000 + n,
      firstVideoPts: first,
      lastVideoPts: first + (frames - 1) * 3000,
      videoFrames: frames,
      firstAudioPts: aFirst,
      lastAudioPts: aFirst + (packets - 1) * 1920,
      audioPackets: packets,
      ccFirst: { '256': 0, '257': 0 },
    };
  };
  const base = {
    rendition: '480p' as const,
    count: 3,
    targetDuration: 6,
    videoPtsStep: 3000,
    audioPtsStep: 1920,
    ccCounts: { '0': 6, '4096': 6, '17': 2, '256': 3, '257': 9 },
    width: 854,
    height: 480,
    codecs: 'avc1.64001e,mp4a.40.2',
    frameRate: 30,
    segmentSeconds: 6,
    playlistVersion: 6,
  };
  return [
    { ...base, index: 0, startSeconds: 0, segments: [seg(0), seg(1)] },
    { ...base, index: 1, startSeconds: 12, segments: [seg(2), seg(3)] },
    { ...base, index: 2, startSeconds: 24, targetDuration: 2, segments: [seg(4, 2)] },
  ];
}

const report = (over: Partial<StitchReport> = {}): StitchReport => ({
  rendition: '480p',
  count: 3,
  segmentsRewritten: 3,
  joins: [
    { index: 1, videoGapTicks: 0, audioGapTicks: 0 },
    { index: 2, videoGapTicks: 0, audioGapTicks: 0 },
  ],
  ...over,
});

describe('common/video/chunks', () => {
  describe('planChunks', () => {
    it('keeps one process up to the threshold, and always with threshold 0', () => {
      expect(planChunks(120, DEFAULT_CHUNKING, 6)).to.equal(undefined);
      expect(planChunks(3600, { thresholdSeconds: 0, chunkSeconds: 30 }, 6)).to.equal(undefined);
      expect(planChunks(122, DEFAULT_CHUNKING, 6)).to.deep.equal({ chunkSeconds: 30, count: 5 });
      // 0.5 s over four chunks: the last one encodes it (it always runs to the end)
      expect(planChunks(120.5, DEFAULT_CHUNKING, 6)).to.deep.equal({ chunkSeconds: 30, count: 4 });
    });

    it('rounds L up to a multiple of the segment length', () => {
      expect(planChunks(300, { thresholdSeconds: 120, chunkSeconds: 25 }, 6)).to.deep.equal({
        chunkSeconds: 30,
        count: 10,
      });
      expect(planChunks(300, { thresholdSeconds: 120, chunkSeconds: 1 }, 4)).to.deep.equal({
        chunkSeconds: 4,
        count: 75,
      });
      expect(chunkLength(36, 6)).to.equal(36);
      expect(chunkLength(36.5, 6)).to.equal(42);
    });

    it('counts ceil(duration / L), a remainder under a second going to the last chunk', () => {
      expect(planChunks(60, { thresholdSeconds: 20, chunkSeconds: 12 }, 6)).to.deep.equal({
        chunkSeconds: 12,
        count: 5,
      });
      expect(planChunks(60.04, { thresholdSeconds: 20, chunkSeconds: 12 }, 6)!.count).to.equal(5);
      expect(planChunks(61.5, { thresholdSeconds: 20, chunkSeconds: 12 }, 6)!.count).to.equal(6);
    });

    it('is one process when the plan would be a single chunk', () => {
      expect(planChunks(30, { thresholdSeconds: 20, chunkSeconds: 30 }, 6)).to.equal(undefined);
    });
  });

  it('lays out its keys under the Video and the rendition', () => {
    expect(chunkKeys.audioPiece('u1', 3)).to.equal('u1/audio/chunk_3.nut');
    expect(chunkKeys.chunkMeta('u1', '720p', 0)).to.equal('u1/720p/chunks/chunk_0.json');
    expect(chunkKeys.stitchReport('u1', '720p')).to.equal('u1/720p/chunks/stitch.json');
  });

  describe('stitchPlaylist', () => {
    it("is the single process's playlist, byte for byte, whatever order the chunks come in", () => {
      const c = chunks();
      expect(stitchPlaylist(c)).to.equal(SINGLE_PROCESS_PLAYLIST);
      expect(stitchPlaylist([c[2]!, c[0]!, c[1]!])).to.equal(SINGLE_PROCESS_PLAYLIST);
      expect(stitchPlaylist(c)).to.not.include('DISCONTINUITY');
    });
  });

  describe('checkChunks', () => {
    it('passes chunks that join seamlessly, with or without the stitch report', () => {
      expect(checkChunks(chunks())).to.equal(undefined);
      expect(checkChunks(chunks(), report())).to.equal(undefined);
    });

    it('names a missing or a duplicate chunk', () => {
      const c = chunks();
      expect(checkChunks([c[0]!, c[2]!])).to.match(/chunk 1 is missing/);
      expect(checkChunks([c[0]!, c[1]!])).to.match(/chunk 2 is missing/);
      expect(checkChunks([c[0]!, c[1]!, c[1]!, c[2]!])).to.match(/chunk 1 is present twice/);
      expect(checkChunks([])).to.match(/no chunk/);
    });

    it('finds a video PTS gap at a join', () => {
      const c = chunks();
      const s = c[1]!.segments[0]!;
      c[1]!.segments[0] = { ...s, firstVideoPts: s.firstVideoPts - 6000, videoFrames: s.videoFrames + 2 };
      expect(checkChunks(c)).to.match(/video PTS gap of -6000 ticks at the join 0→1/);
    });

    it('finds an audio gap at a join', () => {
      const c = chunks();
      const s = c[2]!.segments[0]!;
      c[2]!.segments[0] = { ...s, firstAudioPts: s.firstAudioPts! + 3840, audioPackets: s.audioPackets! - 2 };
      expect(checkChunks(c)).to.match(/audio PTS gap of 3840 ticks at the join 1→2/);
    });

    it('finds a segment off the segment grid, and missing frames', () => {
      const c = chunks();
      const shift = (s: ChunkMetadata['segments'][number], d: number) => ({
        ...s,
        firstVideoPts: s.firstVideoPts + d,
        lastVideoPts: s.lastVideoPts + d,
        firstAudioPts: s.firstAudioPts! + d,
        lastAudioPts: s.lastAudioPts! + d,
      });
      // chunk 0 one step of 96000 ticks longer (32 frames, 50 AAC packets): seamless joins, off the grid after it
      const d96 = 96_000;
      const last = c[0]!.segments[1]!;
      c[0]!.segments[1] = {
        ...last,
        lastVideoPts: last.lastVideoPts + d96,
        videoFrames: last.videoFrames + 32,
        lastAudioPts: last.lastAudioPts! + d96,
        audioPackets: last.audioPackets! + 50,
      };
      for (const k of [1, 2]) c[k]!.segments = c[k]!.segments.map((s) => shift(s, d96));
      expect(checkChunks(c)).to.match(/chunk 1 segment_002\.ts.*off the 6 s segment grid by 96000 ticks/);
      const d = chunks();
      d[0]!.segments[1] = { ...d[0]!.segments[1]!, videoFrames: 179 };
      expect(checkChunks(d)).to.match(/179 video frames, PTS span says 180/);
    });

    it('finds a different frame step, and a segment numbering that does not follow', () => {
      const c = chunks();
      c[2] = { ...c[2]!, videoPtsStep: 3003 };
      expect(checkChunks(c)).to.match(/video PTS step 3003/);
      const d = chunks();
      d[1]!.startSeconds = 18;
      expect(checkChunks(d)).to.match(/chunk 1: first segment segment_002\.ts, expected number 3/);
    });

    it('fails on a join the stitch measured with a gap', () => {
      expect(
        checkChunks(
          chunks(),
          report({
            joins: [
              { index: 1, videoGapTicks: 0, audioGapTicks: -1920 },
              { index: 2, videoGapTicks: 0, audioGapTicks: 0 },
            ],
          }),
        ),
      ).to.match(/audio gap of -1920 ticks at the join into chunk 1/);
      expect(checkChunks(chunks(), report({ joins: [] }))).to.match(/measured 0 of 2 joins/);
    });
  });

  it('chunkMetadataSchema and stitchReportSchema accept what is written and name a bad field', () => {
    for (const c of chunks())
      expect(checkMediaFile(chunkMetadataSchema, 'chunk.json', { ok: c })).to.deep.equal({ ok: c });
    expect(checkMediaFile(stitchReportSchema, 'stitch.json', { ok: report() })).to.have.property('ok');
    const bad = { ...chunks()[0]!, segments: [{ ...chunks()[0]!.segments[0]!, name: '../x.ts' }] };
    expect(checkMediaFile(chunkMetadataSchema, 'chunk_0.json', { ok: bad }))
      .to.have.property('error')
      .that.matches(/chunk_0\.json is malformed: segments\.0\.name/);
    const badCc = { ...chunks()[0]!, ccCounts: { '256': 16 } };
    expect(checkMediaFile(chunkMetadataSchema, 'chunk_0.json', { ok: badCc }))
      .to.have.property('error')
      .that.matches(/ccCounts/);
  });

  it('renditionMetadataFromChunks: what one process writes into rendition.json', () => {
    const m = renditionMetadataFromChunks(chunks());
    expect(m).to.deep.include({
      name: '480p',
      width: 854,
      height: 480,
      codecs: 'avc1.64001e,mp4a.40.2',
      frameRate: 30,
      segmentDuration: 6,
      segmentStarts: [0, 6, 12, 18, 24],
      durationSeconds: 26,
      segmentCount: 5,
      hasAudio: true,
    });
    expect(m.bandwidth).to.equal(Math.ceil((400_004 * 8) / 2));
    expect(m.averageBandwidth).to.equal(Math.ceil(((400_000 * 5 + 10) * 8) / 26));
  });
});
