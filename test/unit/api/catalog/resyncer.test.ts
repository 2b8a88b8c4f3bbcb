/** The periodic resync runner (api/catalog/resync.ts Resyncer): at once, never two at once, errors logged. */
import { expect } from 'chai';
import { createLogger } from '../../../../common/logging/index.js';
import { Resyncer, type ResyncResult } from '../../../../api/catalog/resync.js';

const RESULT: ResyncResult = {
  resources: 0,
  applied: 0,
  markedDeleted: 0,
  staleUploadsRemoved: 0,
  tombstonesPurged: 0,
  incompleteUploadsAborted: 0,
};

describe('api catalog: the resync runner', function () {
  it('runs at once, skips a period while a run is still going, and stop() waits for that run', async function () {
    let calls = 0;
    let finish!: () => void;
    const r = new Resyncer(
      () => {
        calls++;
        return new Promise<ResyncResult>((resolve) => (finish = () => resolve(RESULT)));
      },
      createLogger('test', { level: 'silent' }),
    );
    r.start(1); // a period far shorter than the run: every tick meanwhile finds it running
    expect(calls).to.equal(1);
    await new Promise((res) => setTimeout(res, 30));
    expect(calls, 'no second run while the first is going').to.equal(1);
    let stopped = false;
    const stopping = r.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped, 'stop waits for the run in progress').to.equal(false);
    finish();
    await stopping;
    expect(stopped).to.equal(true);
  });

  it('logs a failed run instead of throwing', async function () {
    const warnings: string[] = [];
    const logger = createLogger('test', { level: 'silent' });
    logger.warn = ((_o: unknown, msg: string) => void warnings.push(msg)) as typeof logger.warn;
    const r = new Resyncer(() => Promise.reject(new Error('cluster unreachable')), logger);
    r.start(60_000);
    await r.stop();
    expect(warnings).to.deep.equal(['catalog resync failed; next attempt at the next period']);
  });
});
