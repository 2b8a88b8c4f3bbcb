/**
 * Fault 3 (issue 20): a transcoder Pod deleted mid-encode is retried and the Video ends Ready (and plays);
 * a rung with a tiny memory limit is OOM-killed and the Video ends Failed with a reason that says memory,
 * never stuck. The memory limit comes from the operator's TRANSCODER_RESOURCES_JSON (the chart's
 * transcoder.resources), changed for this test only and restored after it.
 */
import { expect } from 'chai';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { kubectlAsync, operatorSettings } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';
import {
  componentEnv,
  deletePod,
  NS,
  Platform,
  playable,
  randomInt,
  scenario,
  seconds,
  SETTLE_TIMEOUT_MS,
  sleep,
  videoPods,
  videoResource,
  waitForEncoding,
  waitForSettledLeader,
  type Session,
  faultIt,
} from './support.js';

describe('fault 3: transcoder Pods deleted and OOM-killed', function () {
  let p: Platform;
  let media: MediaDir;
  let user: Session;
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-3-');
    user = (await p.newUser(`3-${tag}`)).session;
  });

  after(async function () {
    await media?.cleanup();
    await p?.close();
  });

  faultIt(
    '3a a transcoder Pod deleted mid-encode is retried: the Video ends Ready and plays',
    async function () {
      const fig = scenario(
        this,
        '3a',
        'transcoder Pod deleted mid-encode',
        'the rung retried, Video Ready and playable through the API',
      );
      const clip = await media.clip({ durationSec: 20, width: 640, height: 360 });
      const id = await p.upload(clip, `faults 3a ${tag}`);
      const name = await p.resourceName(id);
      const pod = await waitForEncoding(name, '480p');
      await sleep(randomInt(0, 2000));
      const t0 = Date.now();
      await deletePod(pod.name);
      const row = await p.waitPhase(id, 'Ready', SETTLE_TIMEOUT_MS).catch((err: Error) => err);
      fig.recoverySeconds = seconds(Date.now() - t0);
      fig.podsOfRung = (await videoPods(name, '480p')).length;
      const v = await videoResource(name);
      fig.stuckVideos = v.status?.phase === 'Ready' || v.status?.phase === 'Failed' ? 0 : 1;
      expect(row, `catalog row ${id}: ${row instanceof Error ? row.message : ''}`).to.not.be.instanceOf(
        Error,
      );
      expect(v.status?.phase).to.equal('Ready');
      expect(await playable(p, id, user), 'streaming problems').to.deep.equal([]);
    },
  );

  faultIt(
    '3b a rung OOM-killed by a tiny memory limit ends Failed with a reason that says memory',
    async function () {
      const fig = scenario(
        this,
        '3b',
        'transcoder OOM-killed (32 MiB limit on the 480p rung)',
        'Video Failed (not stuck), reason mentions memory',
      );
      const deployment = `deployment/${(await operatorSettings()).deployment}`;
      const before = await componentEnv('operator', 'TRANSCODER_RESOURCES_JSON').catch(() => '');
      const table = before ? (JSON.parse(before) as Record<string, unknown>) : {};
      const tiny = {
        ...table,
        '480p': { requests: { cpu: '50m', memory: '16Mi' }, limits: { cpu: '1', memory: '32Mi' } },
      };
      const { leaseName } = await operatorSettings();
      const rollout = async () => {
        await kubectlAsync(['rollout', 'status', deployment, '-n', NS, '--timeout=300s'], {
          timeoutMs: 320_000,
        });
        await waitForSettledLeader(leaseName);
      };
      await kubectlAsync([
        'set',
        'env',
        deployment,
        '-n',
        NS,
        `TRANSCODER_RESOURCES_JSON=${JSON.stringify(tiny)}`,
      ]);
      try {
        await rollout();
        const clip = await media.clip({ durationSec: 6, width: 640, height: 360 });
        const t0 = Date.now();
        const id = await p.upload(clip, `faults 3b ${tag}`);
        const name = await p.resourceName(id);
        const v = await waitFor(
          async () => {
            const r = await videoResource(name);
            if (r.status?.phase === 'Failed' || r.status?.phase === 'Ready') return r;
            throw new Error(`phase ${r.status?.phase} ${JSON.stringify(r.status?.renditions)}`);
          },
          { timeoutMs: SETTLE_TIMEOUT_MS, intervalMs: 1000, what: `Video ${name} Failed` },
        );
        fig.settleSeconds = seconds(Date.now() - t0);
        const terminated = (await videoPods(name, '480p')).map((x) => x.terminated?.reason).filter(Boolean);
        fig.oomKilledPods = terminated.filter((r) => r === 'OOMKilled').length;
        const reason = [
          v.status?.message,
          ...(v.status?.conditions ?? []).map((c) => `${c.reason}: ${c.message}`),
        ].join(' | ');
        fig.reason = (v.status?.message ?? '').slice(0, 120);
        expect(v.status?.phase, `phase (${reason})`).to.equal('Failed');
        expect(
          fig.oomKilledPods,
          `the 480p Pods' termination reasons: ${terminated.join(', ')}`,
        ).to.be.greaterThan(0);
        expect(reason, 'the reason the Video failed').to.match(/memory|OOM/i);
        const row = await p.waitPhase(id, 'Failed', 60_000);
        expect(row.error ?? '', 'the catalog row says why').to.match(/memory|OOM/i);
      } finally {
        await kubectlAsync(
          before
            ? ['set', 'env', deployment, '-n', NS, `TRANSCODER_RESOURCES_JSON=${before}`]
            : ['set', 'env', deployment, '-n', NS, 'TRANSCODER_RESOURCES_JSON-'],
        );
        await rollout();
      }
    },
  );
});
