import { expect } from 'chai';
import { buildMasterPlaylist, checkSegmentAlignment } from '../../../operator/video/playlist.js';
import { meta } from './fixtures.js';

describe('operator/video/playlist', () => {
  it('writes one variant per rendition, lowest bandwidth first, with every attribute', () => {
    const text = buildMasterPlaylist([meta('1080p'), meta('480p'), meta('720p')]);
    expect(text).to.equal(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=1500000,AVERAGE-BANDWIDTH=1200000,RESOLUTION=854x480,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=25.000',
        '480p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2400000,RESOLUTION=1280x720,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=25.000',
        '720p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=5400000,AVERAGE-BANDWIDTH=4320000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",FRAME-RATE=25.000',
        '1080p/index.m3u8',
        '',
      ].join('\n'),
    );
  });

  it('rounds bandwidths and prints fractional frame rates with three decimals', () => {
    const m = { ...meta('480p'), bandwidth: 1234.6, averageBandwidth: 999.4, frameRate: 30000 / 1001 };
    expect(buildMasterPlaylist([m]))
      .to.contain('BANDWIDTH=1235,AVERAGE-BANDWIDTH=999,')
      .and.contain('FRAME-RATE=29.970');
  });

  it('refuses an empty ladder', () => {
    expect(() => buildMasterPlaylist([])).to.throw(/no renditions/);
  });

  describe('checkSegmentAlignment', () => {
    it('accepts boundaries equal within the tolerance', () => {
      const r = checkSegmentAlignment([meta('480p', [0, 6, 12]), meta('720p', [0, 6.04, 12])]);
      expect(r.aligned).to.equal(true);
      expect(r.message).to.contain('3 aligned segments');
    });

    it('rejects a boundary that is off', () => {
      const r = checkSegmentAlignment([meta('480p', [0, 6, 12]), meta('1080p', [0, 6, 12.5])]);
      expect(r.aligned).to.equal(false);
      expect(r.message).to.contain('segment 2').and.contain('1080p');
    });

    it('rejects different segment counts', () => {
      const r = checkSegmentAlignment([meta('480p', [0, 6, 12]), meta('720p', [0, 6])]);
      expect(r.aligned).to.equal(false);
      expect(r.message).to.match(/720p has 2 segments, 480p has 3/);
    });

    it('a single rendition is aligned with itself', () => {
      expect(checkSegmentAlignment([meta('480p')]).aligned).to.equal(true);
    });
  });
});
