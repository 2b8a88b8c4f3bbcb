/**
 * Fault 8 (issue 20): a rolling upgrade of the API and the operator (`helm upgrade` with a changed image
 * reference: the same build tagged `faults-upgrade` and kind-loaded) while a Video processes and 20 clients
 * stream through the ingress, then the upgrade back to `dev`. Figures: streaming requests, failed ones
 * (the goal is 0: readiness, preStop delay, graceful drain), the in-flight Video Ready.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLUSTER } from '../support/cluster-hooks.js';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { readEndpoints } from '../support/platform.js';
import {
  NS,
  Platform,
  ROOT,
  scenario,
  seconds,
  SETTLE_TIMEOUT_MS,
  sleep,
  type Session,
  faultIt,
} from './support.js';

const execFileP = promisify(execFile);
const CLIENTS = Number(process.env.FAULTS_STREAM_CLIENTS ?? 20);
const RELEASE = process.env.DEV_RELEASE ?? 'videoflix';
const UPGRADE_TAG = 'faults-upgrade';

/** A tool of ./bin (helm, kind, docker) with the platform's kubeconfig; rejects with its stderr. */
async function tool(cmd: string, args: string[], timeoutMs = 15 * 60_000): Promise<string> {
  const env = {
    ...process.env,
    PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH ?? ''}`,
    KUBECONFIG: readEndpoints()!.KUBECONFIG,
  };
  try {
    return (await execFileP(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim().slice(-800)}`);
  }
}

/** 20 players: master → first variant → every segment, again and again, until stopped. */
class Streamers {
  requests = 0;
  failures: string[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly p: Platform,
    private readonly id: number,
    private readonly session: Session,
  ) {}

  start(n: number): void {
    for (let i = 0; i < n; i++) this.loops.push(this.loop());
  }

  private async fetch(url: URL): Promise<string | undefined> {
    this.requests++;
    try {
      const res = await this.p.get(url.pathname + url.search, this.session, 30_000); // offload: the query is the signature
      const body = await res.text();
      if (res.status !== 200) {
        this.failures.push(`${res.status} ${url.pathname} ${body.slice(0, 80)}`);
        return undefined;
      }
      return body;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      this.failures.push(`${cause} ${url.pathname}`);
      return undefined;
    }
  }

  private async loop(): Promise<void> {
    const uris = (t: string) => t.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    while (!this.stopped) {
      const masterUrl = new URL(`/api/video/${this.id}/master.m3u8`, this.p.api);
      const master = await this.fetch(masterUrl);
      const variant = master && uris(master)[0];
      if (!variant) {
        await sleep(200);
        continue;
      }
      const vu = new URL(variant, masterUrl);
      const pl = await this.fetch(vu);
      for (const s of pl ? uris(pl) : []) {
        if (this.stopped) break;
        await this.fetch(new URL(s, vu));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

describe('fault 8: a rolling upgrade while clients stream', function () {
  let p: Platform;
  let media: MediaDir;
  let upgraded = false;
  const tag = Date.now().toString(36);
  const upgrade = (imageTag: string) =>
    tool('helm', [
      'upgrade',
      RELEASE,
      path.join(ROOT, 'charts/videoflix'),
      '-n',
      NS,
      '--reuse-values',
      '--set',
      `api.image.tag=${imageTag}`,
      '--set',
      `operator.image.tag=${imageTag}`,
      '--wait',
      '--timeout',
      '12m',
    ]);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-8-');
  });

  after(async function () {
    this.timeout(15 * 60_000);
    if (upgraded)
      await upgrade('dev').catch((err: Error) =>
        console.error(`      restoring the dev tag: ${err.message}`),
      );
    await media?.cleanup();
    await p?.close();
  });

  faultIt(
    `8 helm upgrade of the API and the operator while ${CLIENTS} clients stream: 0 failed requests`,
    async function () {
      const fig = scenario(
        this,
        '8',
        `rolling upgrade (API + operator images) while ${CLIENTS} clients stream and a Video processes`,
        'failed streaming requests (goal 0), the in-flight Video Ready; upgrade there and back',
      );
      const user = await p.newUser(`8-${tag}`);
      const ready = (await p.adminList()).find((v) => v.phase === 'Ready');
      expect(ready, 'a Ready Video to stream (make dev uploads a sample)').to.not.equal(undefined);
      // the same builds under another tag: a changed image reference for both Deployments
      for (const image of ['videoflix/api', 'videoflix/operator']) {
        await tool('docker', ['tag', `${image}:dev`, `${image}:${UPGRADE_TAG}`]);
      }
      await tool('kind', [
        'load',
        'docker-image',
        '--name',
        CLUSTER.name,
        `videoflix/api:${UPGRADE_TAG}`,
        `videoflix/operator:${UPGRADE_TAG}`,
      ]);

      const clip = await media.clip({ durationSec: 12, width: 640, height: 360 });
      const id = await p.upload(clip, `faults 8 ${tag}`);
      const streamers = new Streamers(p, ready!.id, user.session);
      streamers.start(CLIENTS);
      const t0 = Date.now();
      try {
        await sleep(3000);
        upgraded = true;
        await upgrade(UPGRADE_TAG);
        fig.upgradeSeconds = seconds(Date.now() - t0);
        const t1 = Date.now();
        await upgrade('dev');
        upgraded = false;
        fig.downgradeSeconds = seconds(Date.now() - t1);
        await sleep(3000);
      } finally {
        await streamers.stop();
      }
      fig.requests = streamers.requests;
      fig.failedRequests = streamers.failures.length;
      const row = await p.waitPhase(id, 'Ready', SETTLE_TIMEOUT_MS).catch((err: Error) => err);
      fig.inFlightVideoReady = !(row instanceof Error);
      expect(streamers.requests, 'streaming requests made').to.be.greaterThan(CLIENTS);
      expect(
        streamers.failures.slice(0, 10),
        `failed of ${streamers.requests} requests (first 10 shown)`,
      ).to.deep.equal([]);
      expect(row, `the Video uploaded before the upgrade`).to.not.be.instanceOf(Error);
    },
  );
});
