import { expect } from 'chai';
import {
  describeFixedCost,
  fixedCost,
  transcoderLogTimes,
  type JobTimes,
} from '../../../bench/support/fixed-cost.js';

const T = 1_800_000_000_000;

describe('bench/support/fixed-cost', () => {
  it("reads the transcoder's log: first line, encode start, encode seconds; skips what is not JSON", () => {
    const log = [
      'node: warning',
      JSON.stringify({ time: T + 100, msg: 'source probed' }),
      JSON.stringify({ time: T + 900, msg: 'encoding' }),
      '{ broken',
      JSON.stringify({
        time: new Date(T + 20_000).toISOString(),
        msg: 'rendition written',
        encodeSeconds: 18.5,
      }),
    ].join('\n');
    expect(transcoderLogTimes(log)).to.deep.equal({
      firstLog: T + 100,
      encodeStarted: T + 900,
      encodeSeconds: 18.5,
    });
    expect(transcoderLogTimes('')).to.deep.equal({});
  });

  it('splits each rendition and names the two fixed costs', () => {
    const job = (task: string, shift: number): JobTimes => ({
      task,
      jobCreated: T,
      podStarted: T + 1_000 + shift,
      encodeStarted: T + 1_500 + shift,
      encodeEnded: T + 20_000 + shift,
      podExited: T + 20_400 + shift,
      counted: T + 20_600 + shift,
      jobComplete: T + 21_300 + shift,
    });
    const c = fixedCost(
      [{ task: 'thumbnail', jobCreated: T }, job('480p', 0), job('1080p', 700)],
      T + 21_500,
    );
    expect(c.perJob.map((j) => j.task)).to.deep.equal(['480p', '1080p']);
    expect(Object.fromEntries(c.perJob[0]!.steps)).to.deep.equal({
      'Job created → Pod started': 1,
      'Pod started → encode started': 0.5,
      encode: 18.5,
      'encode ended → Pod exit': 0.4,
      'Pod exit → rendition counted': 0.2,
      '(Pod exit → Job Complete)': 0.9,
    });
    expect(c.start).to.equal(2.2); // the slowest: 1080p
    expect(c.end).to.equal(0.8); // 1080p's encode ended at +20.7 s, Ready at +21.5 s
    expect(Object.fromEntries(c.endSteps)).to.deep.equal({
      'encode ended → Pod exit': 0.4,
      'Pod exit → rendition counted': 0.2,
      'last rendition counted → Ready': 0.2,
    });
    expect(describeFixedCost(c)).to.include('1080p: Job created → Pod started 1.70 s');
  });

  it('a missing timestamp is NaN in its step and "?" in the note, never a crash', () => {
    const c = fixedCost([{ task: '480p', jobCreated: T }], T + 5_000);
    expect(Number.isNaN(c.start)).to.equal(true);
    expect(Number.isNaN(c.end)).to.equal(true);
    expect(describeFixedCost(c)).to.include('Job created → Pod started ?');
  });
});
