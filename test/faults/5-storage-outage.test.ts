/**
 * Fault 5 (issue 20): the S3 server restarted mid-transcode (its Pod deleted), and unreachable for 30 s
 * (its Deployment scaled to 0, then back): each Video ends Ready after retries (transient storage errors are
 * retried with backoff, not a sticky Failed), and plays through the API.
 */
import { expect } from 'chai';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { kubectlAsync } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';
import {
  deletePod,
  NS,
  Platform,
  playable,
  pods,
  componentSelector,
  randomInt,
  readyPod,
  scale,
  scenario,
  seconds,
  SETTLE_TIMEOUT_MS,
  sleep,
  videoResource,
  waitForEncoding,
  waitForReplacement,
  workloadOf,
  type Session,
  faultIt,
} from './support.js';

const UNREACHABLE_MS = Number(process.env.FAULTS_S3_OUTAGE_MS ?? 30_000);

describe('fault 5: the S3 server restarted and unreachable mid-transcode', function () {
  let p: Platform;
  let media: MediaDir;
  let user: Session;
  let deployment = '';
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-5-');
    user = (await p.newUser(`5-${tag}`)).session;
    deployment = await workloadOf('versitygw');
  });

  after(async function () {
    if (deployment) await scale(deployment, 1).catch(() => undefined);
    await media?.cleanup();
    await p?.close();
  });

  async function settle(id: number, name: string, fig: Record<string, unknown>, t0: number): Promise<void> {
    expect(
      fig.readyBeforeFault,
      'the Video was still processing when S3 went (else nothing is tested)',
    ).to.equal(false);
    const row = await p.waitPhase(id, 'Ready', SETTLE_TIMEOUT_MS).catch((err: Error) => err);
    fig.recoverySeconds = seconds(Date.now() - t0);
    const v = await videoResource(name);
    fig.stuckVideos = v.status?.phase === 'Ready' || v.status?.phase === 'Failed' ? 0 : 1;
    expect(row, `catalog row ${id}: ${row instanceof Error ? row.message : ''}`).to.not.be.instanceOf(Error);
    expect(v.status?.phase, v.status?.message).to.equal('Ready');
    expect(await playable(p, id, user), 'streaming problems').to.deep.equal([]);
  }

  faultIt('5a S3 server Pod deleted mid-transcode: the Video ends Ready and plays', async function () {
    const fig = scenario(
      this,
      '5a',
      'S3 server Pod deleted mid-transcode',
      'Video Ready after retries, playable',
    );
    const clip = await media.clip({ durationSec: 12, width: 640, height: 360 });
    const id = await p.upload(clip, `faults 5a ${tag}`);
    const name = await p.resourceName(id);
    await waitForEncoding(name, '480p');
    await sleep(randomInt(0, 1500));
    const gw = (await readyPod('versitygw'))!;
    const t0 = Date.now();
    await deletePod(gw.name);
    fig.readyBeforeFault = (await videoResource(name)).status?.phase === 'Ready';
    await waitForReplacement('versitygw', gw.uid);
    fig.s3BackSeconds = seconds(Date.now() - t0);
    await settle(id, name, fig, t0);
  });

  faultIt(
    `5b S3 server unreachable ${UNREACHABLE_MS / 1000} s mid-transcode: the Video ends Ready and plays`,
    async function () {
      const fig = scenario(
        this,
        '5b',
        `S3 server unreachable ${UNREACHABLE_MS / 1000} s mid-transcode`,
        'Video Ready after retries, playable',
      );
      const clip = await media.clip({ durationSec: 12, width: 640, height: 360 });
      const id = await p.upload(clip, `faults 5b ${tag}`);
      const name = await p.resourceName(id);
      await waitForEncoding(name, '480p');
      await sleep(randomInt(0, 1500));
      const t0 = Date.now();
      await scale(deployment, 0);
      try {
        await waitFor(async () => (await pods(componentSelector('versitygw'))).length === 0, {
          timeoutMs: 120_000,
          intervalMs: 500,
          what: 'the S3 server Pod gone',
        });
        fig.readyBeforeFault = (await videoResource(name)).status?.phase === 'Ready';
        await sleep(UNREACHABLE_MS);
      } finally {
        await scale(deployment, 1);
      }
      await kubectlAsync(['rollout', 'status', deployment, '-n', NS, '--timeout=300s'], {
        timeoutMs: 320_000,
      });
      fig.outageSeconds = seconds(Date.now() - t0);
      await settle(id, name, fig, t0);
    },
  );
});
