/**
 * Chunked (scale-out) transcoding end to end on the kind cluster (issue 24), against the platform
 * `make dev` installed (test/support/platform.ts brings it up when it is not there; the test tiers run it
 * on two workers): a generated 5-minute 720p source with audio is uploaded by the admin through the API
 * (the ingress), and the platform's defaults chunk it (threshold 120 s, chunks of 30 s).
 *
 * - the Video becomes Ready through real Indexed Jobs `<video>-<res>-chunks` (completionMode Indexed,
 *   completions = the chunk count the status shows, = ceil(duration / CHUNK_SECONDS)) and one stitch
 *   Job per rendition, all Complete;
 * - the Pods of one rendition's chunks ran on at least 2 different nodes (the lead runs it on a
 *   2-worker cluster; make dev runs at least 2 chunk Pods of a rendition at once, and the chunks'
 *   topology spread preference puts them on different nodes);
 * - ffmpeg decodes every rendition's playlist, downloaded from the S3 server, without an error, and
 *   its duration is the source's;
 * - hls.js in chromium (the admin console's player, through the ingress) plays across chunk joins:
 *   seeked to 2 s before a join, currentTime passes 2 s after it with no media error.
 *
 * Run: `npx mocha --config test/.mocharc.e2e.json --grep 'chunked transcoding end to end' test/e2e/chunked.test.ts`
 * Not run where it was written (no cluster there): it typechecks and lints.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  API_VERSION,
  LABELS,
  isVideoFailed,
  isVideoReady,
  keys,
  type RenditionName,
  type Video,
} from '../../common/video/index.js';
import { chromium } from 'playwright-core';
import { Platform } from '../faults/support.js';
import { createMediaDir, probe, type MediaDir } from '../support/media.js';
import { kubectlJson, NS, openS3, type S3Access } from '../support/platform.js';
import { GiveUp, waitFor } from '../support/waiters.js';

const execFileP = promisify(execFile);
const READY_TIMEOUT_MS = Number(process.env.E2E_CHUNKED_READY_TIMEOUT_MS ?? 30 * 60_000);
const VIDEOS = `videos.${API_VERSION.split('/')[0]}`;
const SOURCE_SECONDS = 300;
const RUNGS: RenditionName[] = ['480p', '720p'];

interface Job {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    backoffLimitPerIndex?: number;
    template: {
      spec: { containers: Array<{ args?: string[]; env?: Array<{ name: string; value?: string }> }> };
    };
  };
  status: { conditions?: Array<{ type: string; status: string }> };
}
interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
}

const complete = (j: Job) =>
  (j.status.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
const getVideo = (name: string) => kubectlJson<Video>(['get', VIDEOS, name, '-n', NS]);
const jobsOf = async (name: string) =>
  (await kubectlJson<{ items: Job[] }>(['get', 'jobs', '-n', NS, '-l', `${LABELS.video}=${name}`])).items;
const podsOfJob = async (job: string) =>
  (
    await kubectlJson<{ items: Pod[] }>([
      'get',
      'pods',
      '-n',
      NS,
      '-l',
      `batch.kubernetes.io/job-name=${job}`,
    ])
  ).items;

describe('chunked transcoding end to end on the kind cluster (issue 24)', function () {
  this.timeout(READY_TIMEOUT_MS + 15 * 60_000);
  const tag = Date.now().toString(36);
  let name = '';
  let p: Platform;
  let s3: S3Access;
  let media: MediaDir;
  let catalogId = 0;
  let ready: Video;
  /** Nodes the chunk Pods of each rendition ran on, gathered while they run (a Job TTL may remove them later). */
  const nodes = new Map<RenditionName, Set<string>>(RUNGS.map((r) => [r, new Set<string>()]));

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    s3 = await openS3();
    media = await createMediaDir('videoflix-e2e-chunked-');
    const clip = await media.clip({ durationSec: SOURCE_SECONDS, width: 1280, height: 720, audio: true });
    catalogId = await p.upload(clip, `E2E chunked ${tag}`);
    name = await p.resourceName(catalogId);
    ready = await waitFor(
      async () => {
        for (const r of RUNGS)
          for (const p of await podsOfJob(`${name}-${r}-chunks`))
            if (p.spec.nodeName) nodes.get(r)!.add(p.spec.nodeName);
        const v = await getVideo(name);
        if (isVideoFailed(v)) throw new GiveUp(`Video ${name} Failed: ${v.status?.message ?? ''}`);
        return isVideoReady(v) ? v : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 3000, what: `Video ${name} Ready` },
    );
  });

  after(async function () {
    this.timeout(5 * 60_000);
    const problems: string[] = [];
    if (catalogId) {
      try {
        const res = await fetch(`${p.api}/api/admin/videos/${catalogId}/`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${p.admin.access}` },
          signal: AbortSignal.timeout(60_000),
        });
        if (res.status >= 300) problems.push(`DELETE of video ${catalogId}: ${res.status}`);
      } catch (e) {
        problems.push(String(e));
      }
    }
    await s3?.stop();
    await media?.cleanup();
    await p?.close();
    if (problems.length > 0) throw new Error(`clean-up: ${problems.join('; ')}`);
  });

  it('each rendition was encoded by one Indexed Job with completions = its chunks, then stitched', async () => {
    const duration = ready.status?.source?.durationSeconds ?? 0;
    expect(duration).to.be.closeTo(SOURCE_SECONDS, 1);
    // a stitch counts done at its Pod's exit (its termination message): the Job controller's Complete
    // condition may come a moment after Ready, so the Jobs get a minute to show it
    const settled = (jobs: Job[]) =>
      RUNGS.every((r) =>
        [`${name}-${r}-chunks`, `${name}-${r}-stitch`].every((n) =>
          jobs.some((j) => j.metadata.name === n && complete(j)),
        ),
      );
    const jobs = await waitFor(
      async () => {
        const all = await jobsOf(name);
        return settled(all) ? all : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `the chunk and stitch Jobs of ${name} Complete` },
    ).catch(() => jobsOf(name));
    for (const r of RUNGS) {
      const chunks = jobs.find((j) => j.metadata.name === `${name}-${r}-chunks`);
      expect(chunks, `${r}: its chunk Job`).to.not.equal(undefined);
      const env = Object.fromEntries(
        (chunks!.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
      );
      const chunkSeconds = Number(env.CHUNK_SECONDS);
      expect(chunkSeconds, 'CHUNK_SECONDS: 30 s rounded up to whole segments').to.be.at.least(30);
      const count = Math.ceil(duration / chunkSeconds);
      expect(count).to.be.at.least(2);
      expect(chunks!.spec).to.include({ completionMode: 'Indexed', completions: count });
      expect(chunks!.spec.template.spec.containers[0]?.args).to.deep.equal(['chunk', r]);
      expect(complete(chunks!), `${r}: chunk Job Complete`).to.equal(true);
      const status = ready.status?.renditions?.find((x) => x.name === r);
      expect(status).to.deep.include({ phase: 'Succeeded', chunks: { done: count, total: count } });
      const stitch = jobs.find((j) => j.metadata.name === `${name}-${r}-stitch`);
      expect(stitch && complete(stitch), `${r}: stitch Job Complete`).to.equal(true);
      // one Job per resolution: the speculative single Job deferred and was deleted
      expect(jobs.map((j) => j.metadata.name)).to.not.include(`${name}-${r}`);
    }
    expect(ready.status?.chunksSummary).to.match(/^(\d+)\/\1$/);
  });

  it("the Pods of one rendition's chunks ran on at least 2 different nodes", () => {
    const spread = RUNGS.map((r) => ({ r, nodes: [...nodes.get(r)!].sort() }));
    expect(
      spread.some((s) => s.nodes.length >= 2),
      `nodes per rendition: ${JSON.stringify(spread)}`,
    ).to.equal(true);
  });

  it("ffmpeg decodes every rendition's playlist without an error, with the source's duration", async function () {
    this.timeout(20 * 60_000);
    const uid = ready.metadata.uid!;
    for (const r of RUNGS) {
      const dir = path.join(media.dir, r);
      await fsp.mkdir(dir, { recursive: true });
      const playlist = (await s3.get(s3.mediaBucket, keys.playlist(uid, r))).toString('utf8');
      await fsp.writeFile(path.join(dir, 'index.m3u8'), playlist);
      const segments = playlist.split('\n').filter((l) => /^segment_\d+\.ts$/.test(l.trim()));
      expect(segments.length, `${r}: segments`).to.be.at.least(SOURCE_SECONDS / 10);
      for (const s of segments)
        await fsp.writeFile(
          path.join(dir, s.trim()),
          await s3.get(s3.mediaBucket, keys.segment(uid, r, s.trim())),
        );
      const { stderr } = await execFileP(
        'ffmpeg',
        ['-nostdin', '-v', 'error', '-xerror', '-i', path.join(dir, 'index.m3u8'), '-f', 'null', '-'],
        { maxBuffer: 32 * 1024 * 1024 },
      );
      expect(stderr.trim(), `${r}: ffmpeg decode errors`).to.equal('');
      const p = await probe(path.join(dir, 'index.m3u8'));
      expect(Number(p.format.duration), `${r}: duration`).to.be.closeTo(SOURCE_SECONDS, 1);
      expect(p.streams.map((s) => s.codec_type).sort()).to.deep.equal(['audio', 'video']);
    }
  });

  it('plays across chunk joins in hls.js (the admin console in chromium, through the ingress)', async function () {
    this.timeout(10 * 60_000);
    await p.waitPhase(catalogId, 'Ready', 5 * 60_000);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(p.env.ADMIN_URL);
      await page.fill('#login-email', p.env.ADMIN_EMAIL);
      await page.fill('#login-password', p.env.ADMIN_PASSWORD);
      await page.click('#login-submit');
      await page.locator('#console').waitFor({ state: 'visible', timeout: 30_000 });
      const row = page.locator(`#videos-body tr[data-id="${catalogId}"]`);
      await row.waitFor({ timeout: 60_000 });
      await row.locator('button.play').click();
      const video = page.locator('#player-video');
      const time = () => video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime);
      await waitFor(async () => (await time()) > 0.5, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'playback to start',
      });
      const chunk = Number(
        (await jobsOf(name))
          .find((j) => j.metadata.name.endsWith('-chunks'))
          ?.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'CHUNK_SECONDS')?.value ?? 30,
      );
      for (const join of [chunk, 2 * chunk, 5 * chunk]) {
        await video.evaluate(
          (v, at) => ((v as unknown as { currentTime: number }).currentTime = at),
          join - 2,
        );
        const reached = await waitFor(
          async () => {
            const state = await video.evaluate((v) => {
              const m = v as unknown as { currentTime: number; error: { code: number } | null };
              return { t: m.currentTime, error: m.error?.code ?? null };
            });
            if (state.error !== null)
              throw new GiveUp(`media error ${state.error} near the join at ${join} s`);
            return state.t > join + 2 ? state.t : 0;
          },
          { timeoutMs: 60_000, intervalMs: 200, what: `currentTime past the join at ${join} s (+2 s)` },
        );
        console.log(`      played across the join at ${join} s (currentTime ${reached.toFixed(2)} s)`);
      }
      expect(errors, 'page errors').to.deep.equal([]);
    } finally {
      await browser.close();
    }
  });
});
