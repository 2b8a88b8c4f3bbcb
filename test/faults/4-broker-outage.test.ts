/**
 * Fault 4 (issue 20): RabbitMQ down for 60 s mid-transcode (its StatefulSet scaled to 0, then back to 1).
 * The Video goes on to Ready in the operator meanwhile; the catalog lists it within seconds of the broker's
 * return (the operator's outbox keeps what it could not publish), never only through the API's periodic
 * resync (300 s).
 */
import { expect } from 'chai';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { kubectlAsync } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';
import {
  NS,
  Platform,
  pods,
  componentSelector,
  randomInt,
  scale,
  scenario,
  seconds,
  SETTLE_TIMEOUT_MS,
  sleep,
  videoResource,
  waitForEncoding,
  workloadOf,
  faultIt,
} from './support.js';

const OUTAGE_MS = Number(process.env.FAULTS_BROKER_OUTAGE_MS ?? 60_000);
const CATALOG_LAG_MAX_S = Number(process.env.FAULTS_CATALOG_LAG_MAX_S ?? 30);

describe('fault 4: the broker down mid-transcode', function () {
  let p: Platform;
  let media: MediaDir;
  let sts = '';
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-4-');
    sts = await workloadOf('rabbitmq');
  });

  after(async function () {
    if (sts) await scale(sts, 1).catch(() => undefined);
    await media?.cleanup();
    await p?.close();
  });

  faultIt(
    `4 RabbitMQ down ${OUTAGE_MS / 1000} s mid-transcode: the catalog lists the Video within seconds of its return`,
    async function () {
      const fig = scenario(
        this,
        '4',
        `RabbitMQ down ${OUTAGE_MS / 1000} s mid-transcode`,
        "the catalog row Ready within seconds of the broker's return (not by the 300 s resync)",
      );
      const clip = await media.clip({ durationSec: 20, width: 640, height: 360 });
      const id = await p.upload(clip, `faults 4 ${tag}`);
      const name = await p.resourceName(id);
      await waitForEncoding(name, '480p');
      await sleep(randomInt(0, 1500));
      await scale(sts, 0);
      let down = 0;
      try {
        await waitFor(async () => (await pods(componentSelector('rabbitmq'))).length === 0, {
          timeoutMs: 120_000,
          intervalMs: 500,
          what: 'the RabbitMQ Pod gone',
        });
        down = Date.now();
        fig.readyBeforeOutage = (await videoResource(name)).status?.phase === 'Ready';
        await sleep(OUTAGE_MS);
      } finally {
        await scale(sts, 1);
      }
      const readyDuringOutage = (await videoResource(name)).status?.phase === 'Ready';
      fig.operatorReadyDuringOutage = readyDuringOutage;
      await kubectlAsync(['rollout', 'status', sts, '-n', NS, '--timeout=300s'], { timeoutMs: 320_000 });
      const back = Date.now();
      fig.outageSeconds = seconds(back - down);
      const row = await p.waitPhase(id, 'Ready', SETTLE_TIMEOUT_MS, 500).catch((err: Error) => err);
      const v = await videoResource(name);
      const operatorReady = Date.parse(
        v.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '',
      );
      const lag = seconds(Date.now() - Math.max(back, operatorReady || 0));
      fig.catalogLagSeconds = lag;
      fig.lostUpdates = row instanceof Error || lag > CATALOG_LAG_MAX_S ? 1 : 0;
      expect(
        fig.readyBeforeOutage,
        'the Video was still processing when the broker went (else nothing is tested)',
      ).to.equal(false);
      expect(row, `catalog row ${id}`).to.not.be.instanceOf(Error);
      expect(
        readyDuringOutage,
        'the operator finished the Video while the broker was down (the test needs it)',
      ).to.equal(true);
      expect(lag, "seconds from the broker's return to the catalog's Ready").to.be.at.most(CATALOG_LAG_MAX_S);
    },
  );
});
