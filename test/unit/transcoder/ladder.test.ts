import { expect } from 'chai';
import { DEFAULT_LADDER, LadderConfigError, resolveLadder, rung } from '../../../common/video/index.js';
import { rateControl } from '../../../transcoder-image/ladder.js';

describe('transcoder ladder overrides', () => {
  it('is the default table when nothing is set', () => {
    expect(resolveLadder({})).to.deep.equal(DEFAULT_LADDER);
    expect(resolveLadder({ ladderJson: '  ', segmentSeconds: '' })).to.deep.equal(DEFAULT_LADDER);
  });

  it('never mutates the default table', () => {
    const before = structuredClone(DEFAULT_LADDER);
    resolveLadder({ ladderJson: '{"rungs":[{"name":"720p","videoKbps":999}]}' });
    expect(DEFAULT_LADDER).to.deep.equal(before);
  });

  it('replaces top-level fields and merges rungs by name', () => {
    const l = resolveLadder({
      ladderJson: JSON.stringify({
        preset: 'faster',
        gopSeconds: 1,
        rungs: [{ name: '720p', videoKbps: 2500 }],
      }),
    });
    expect(l.preset).to.equal('faster');
    expect(l.gopSeconds).to.equal(1);
    expect(l.profile).to.equal('high');
    expect(rung('720p', l)).to.deep.equal({
      name: '720p',
      width: 1280,
      height: 720,
      videoKbps: 2500,
      audioKbps: 128,
    });
    expect(rung('1080p', l).videoKbps).to.equal(5000);
    expect(l.rungs.map((r) => r.name)).to.deep.equal(['480p', '720p', '1080p']);
  });

  it('takes SEGMENT_SECONDS over LADDER_JSON', () => {
    expect(resolveLadder({ segmentSeconds: '4' }).segmentSeconds).to.equal(4);
    expect(
      resolveLadder({ ladderJson: '{"segmentSeconds":10}', segmentSeconds: '4' }).segmentSeconds,
    ).to.equal(4);
    expect(resolveLadder({ ladderJson: '{"segmentSeconds":10}' }).segmentSeconds).to.equal(10);
  });

  it('rejects bad values with a message naming the field', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ ladderJson: '{not json' }, /not valid JSON/],
      [{ ladderJson: '{"preset":"ludicrous"}' }, /preset/],
      [{ ladderJson: '{"profile":"high10"}' }, /profile/],
      [{ ladderJson: '{"bitrate":1}' }, /bitrate|Unrecognized/i],
      [{ ladderJson: '{"rungs":[{"name":"4k","width":3840}]}' }, /rungs\.0\.name/],
      [{ ladderJson: '{"rungs":[{"name":"720p","videoKbps":"fast"}]}' }, /rungs\.0\.videoKbps/],
      [{ ladderJson: '{"rungs":[{"name":"720p","width":1279}]}' }, /even/],
      [{ ladderJson: '{"gopSeconds":8}' }, /gopSeconds \(8\) must not exceed segmentSeconds \(6\)/],
      [{ segmentSeconds: 'six' }, /SEGMENT_SECONDS/],
      [{ segmentSeconds: '0' }, /SEGMENT_SECONDS/],
      [{ segmentSeconds: '600' }, /SEGMENT_SECONDS/],
    ];
    for (const [env, msg] of bad) {
      expect(() => resolveLadder(env), JSON.stringify(env)).to.throw(LadderConfigError, msg);
    }
  });

  it('needs every field for a rung missing from the base table', () => {
    const base = { ...DEFAULT_LADDER, rungs: DEFAULT_LADDER.rungs.filter((r) => r.name !== '1080p') };
    expect(() =>
      resolveLadder({ ladderJson: '{"rungs":[{"name":"1080p","videoKbps":6000}]}' }, base),
    ).to.throw(/1080p .* required/);
    const l = resolveLadder(
      {
        ladderJson:
          '{"rungs":[{"name":"1080p","width":1920,"height":1080,"videoKbps":6000,"audioKbps":160}]}',
      },
      base,
    );
    expect(rung('1080p', l).videoKbps).to.equal(6000);
  });

  it('derives maxrate ≈1.07× and bufsize 1.5× of the rung bitrate', () => {
    expect(rateControl(rung('720p'), DEFAULT_LADDER)).to.deep.equal({
      videoKbps: 2800,
      maxrateKbps: 2996,
      bufsizeKbps: 4200,
      audioKbps: 128,
    });
    expect(rateControl(rung('480p'), DEFAULT_LADDER)).to.include({ maxrateKbps: 1498, bufsizeKbps: 2100 });
    expect(rateControl(rung('1080p'), DEFAULT_LADDER)).to.include({ maxrateKbps: 5350, bufsizeKbps: 7500 });
  });
});
