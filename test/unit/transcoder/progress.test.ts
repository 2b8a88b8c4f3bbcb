import { expect } from 'chai';
import { createLogger } from '../../../common/logging/index.js';
import type { ProgressMessage } from '../../../common/video/index.js';
import { parseProgressLine } from '../../../transcoder-image/ffmpeg/args.js';
import {
  ProgressReporter,
  ProgressThrottle,
  progressHook,
  progressMessage,
} from '../../../transcoder-image/progress.js';

const log = createLogger('test', { level: 'silent' });

describe('transcoder progress reports', () => {
  it('parses time and speed from ffmpeg progress lines', () => {
    expect(
      parseProgressLine(
        'frame=  240 fps= 48 q=28.0 size=    1024kB time=00:01:02.50 bitrate=2046.0kbits/s speed=1.52x',
      ),
    ).to.deep.equal({ encodedSeconds: 62.5, speed: 1.52 });
    expect(parseProgressLine('frame=1 time=01:00:00.00 bitrate=N/A speed=N/A')).to.deep.equal({
      encodedSeconds: 3600,
    });
    expect(parseProgressLine('frame=1 time=N/A bitrate=N/A speed=N/A')).to.equal(undefined);
    expect(parseProgressLine('Stream #0:0: Video: h264')).to.equal(undefined);
    expect(parseProgressLine('time=00:00:01.00 speed=1e+03x')).to.deep.equal({
      encodedSeconds: 1,
      speed: 1000,
    });
  });

  it('throttle: the first report, then one per interval, or sooner after the percent step', () => {
    let t = 0;
    const th = new ProgressThrottle(3000, 5, () => t);
    const seen: number[] = [];
    for (const [ms, pct] of [
      [0, 0.5],
      [500, 1],
      [1000, 2],
      [2900, 3],
      [3000, 3.5], // interval passed
      [3100, 8.4], // 4.9 % since the last: no
      [3200, 8.5], // 5 %: yes
      [3300, 9],
      [9000, 9.1],
    ] as const) {
      t = ms;
      if (th.pass(pct)) seen.push(ms);
    }
    expect(seen).to.deep.equal([0, 3000, 3200, 9000]);
  });

  it('the message: rounded, with the ETA from the speed, valid for the schema', () => {
    const m = progressMessage(
      'uid-1',
      '720p',
      { percent: 25.04, encodedSeconds: 10.004, durationSeconds: 40, speed: 2 },
      new Date('2026-12-04T10:00:00Z'),
    );
    expect(m).to.deep.equal({
      uid: 'uid-1',
      rendition: '720p',
      percent: 25,
      encodedSeconds: 10,
      durationSeconds: 40,
      speed: 2,
      etaSeconds: 15,
      at: '2026-12-04T10:00:00.000Z',
    });
    const noSpeed = progressMessage(
      'u',
      '480p',
      { percent: 1, encodedSeconds: 1, durationSeconds: 100 },
      new Date(),
    );
    expect(noSpeed).not.to.have.property('etaSeconds');
  });

  it('the hook sends throttled reports to the reporter; without one it only logs', () => {
    const sent: ProgressMessage[] = [];
    const hook = progressHook(
      'uid-1',
      '480p',
      { intervalMs: 60_000, stepPercent: 10 },
      { report: (m) => (sent.push(m), true) },
      log,
    );
    for (let p = 0; p <= 100; p += 1) hook({ percent: p, encodedSeconds: p, durationSeconds: 100, speed: 1 });
    expect(sent.map((m) => m.percent)).to.deep.equal([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(() =>
      progressHook(
        'u',
        '480p',
        { intervalMs: 1, stepPercent: 1 },
        undefined,
        log,
      )({
        percent: 1,
        encodedSeconds: 1,
        durationSeconds: 2,
      }),
    ).not.to.throw();
  });

  it('a reporter that is not connected drops reports at once (nothing waits for the broker)', async () => {
    // a port nothing listens on: the connection is refused; report() never blocks or throws
    const r = new ProgressReporter({
      url: 'amqp://nobody:nothing@127.0.0.1:1',
      exchange: 'videoflix.progress',
      intervalMs: 1000,
      stepPercent: 5,
      logger: log,
      timeoutMs: 500,
    });
    r.start();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++)
      r.report({ uid: 'u', rendition: '480p', percent: 1, encodedSeconds: 1, durationSeconds: 10, at: 'x' });
    expect(performance.now() - t0).to.be.below(200);
    expect(r.dropped).to.equal(1000);
    expect(r.sent).to.equal(0);
    const s0 = performance.now();
    await r.stop();
    expect(performance.now() - s0).to.be.below(1500);
  });
});
