import { expect } from 'chai';
import {
  assertMediaFile,
  checkMediaFile,
  probeResultSchema,
  renditionMetadataSchema,
} from '../../../common/video/index.js';
import { meta } from '../operator/fixtures.js';

const probe = {
  durationSeconds: 30,
  width: 1920,
  height: 1080,
  hasAudio: true,
  videoCodec: 'h264',
  frameRate: 25,
};

describe('common/video/media-files: probe.json and rendition.json', () => {
  it('accepts what the transcoder writes, and ignores fields a newer writer adds', () => {
    expect(checkMediaFile(renditionMetadataSchema, 'r.json', { ok: meta('720p') })).to.deep.equal({
      ok: meta('720p'),
    });
    const full = { ...meta('480p'), durationSeconds: 30.03, segmentCount: 6, hasAudio: false, extra: 1 };
    expect(checkMediaFile(renditionMetadataSchema, 'r.json', { ok: full })).to.not.have.property('error');
    expect(checkMediaFile(probeResultSchema, 'p.json', { ok: probe })).to.deep.equal({ ok: probe });
    // a source without a video stream is a valid probe; the operator refuses it as InvalidSource
    expect(
      checkMediaFile(probeResultSchema, 'p.json', { ok: { ...probe, width: 0, height: 0 } }),
    ).to.have.property('ok');
  });

  it('names the file and the first bad fields of a malformed one', () => {
    const bad: [unknown, RegExp][] = [
      [null, /^k is malformed: \(root\)/],
      [{ ...meta('480p'), bandwidth: 0 }, /bandwidth/],
      [{ ...meta('480p'), codecs: '' }, /codecs/],
      [{ ...meta('480p'), name: '4k' }, /name/],
      [{ ...meta('480p'), width: '854' }, /width/],
      [{ ...meta('480p'), segmentStarts: [0, 'six'] }, /segmentStarts\.1/],
      [{ ...meta('480p'), frameRate: undefined }, /frameRate/],
    ];
    for (const [value, message] of bad) {
      const got = checkMediaFile(renditionMetadataSchema, 'k', { ok: value });
      expect(got, JSON.stringify(value)).to.have.property('error').that.matches(message);
    }
    for (const [value, field] of [
      [{ ...probe, height: '1080' }, 'height'],
      [{ ...probe, hasAudio: 'yes' }, 'hasAudio'],
      [{ ...probe, durationSeconds: -1 }, 'durationSeconds'],
      [{ width: 1, height: 1 }, 'durationSeconds'],
    ] as const) {
      expect(checkMediaFile(probeResultSchema, 'p', { ok: value }))
        .to.have.property('error')
        .that.matches(new RegExp(`^p is malformed: .*${field}`));
    }
  });

  it('passes a read error through unchanged', () => {
    expect(checkMediaFile(probeResultSchema, 'p', { error: 'x/probe.json not found' })).to.deep.equal({
      error: 'x/probe.json not found',
    });
  });

  it('the writer gets the value back as it is (byte-identical JSON), or an error', () => {
    const m = meta('1080p');
    expect(JSON.stringify(assertMediaFile(renditionMetadataSchema, 'rendition.json', m))).to.equal(
      JSON.stringify(m),
    );
    expect(() => assertMediaFile(renditionMetadataSchema, 'rendition.json', { ...m, height: -2 })).to.throw(
      /rendition.json would be malformed: height/,
    );
  });
});
