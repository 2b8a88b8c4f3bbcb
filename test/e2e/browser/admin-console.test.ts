/**
 * The admin console in a real browser (issue 15): Debian's chromium driven by playwright-core, against the
 * platform `make dev` started on the kind cluster (its URLs and admin credentials from .dev/endpoints.env;
 * when that file is missing or the API behind it does not answer, the before hook runs `hack/dev.sh up`).
 *
 * Signs in, uploads a clip generated here with ffmpeg (progress bar to 100 %), waits until the list shows it
 * Ready (the operator's Jobs ran in the cluster), plays it muted with hls.js through the API's authenticated
 * HLS routes, and asserts that currentTime advances and that segments of at least one rendition were fetched
 * (page.on('request')); switches to the lowest rendition and sees its segments fetched; saves a screenshot
 * to test-results/admin-console.png; deletes the video through the console. No CSP violation, no page error.
 *
 * Streaming offload (issue 23; the chart's default behind its own ingress): hls.js fetches the segments from
 * the offloaded path (`/<media bucket>/<uid>/<res>/segment_NNN.ts?X-Amz-...`, the S3 server through the
 * ingress), never from the API's segment route, and with no cookie on them; the playlists come from the API
 * with the access cookie. E2E_STREAMING_MODE=proxy expects the opposite (a platform installed with
 * streaming.mode=proxy).
 */
import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { createMediaDir, generateClip, type MediaDir } from '../../support/media.js';
import { ensurePlatform, ROOT, type Endpoints } from '../../support/platform.js';
import { waitFor } from '../../support/waiters.js';

const SCREENSHOT = path.join(ROOT, 'test-results/admin-console.png');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A segment request: through the API (proxy: group 1 the id) or offloaded to S3 (group 2 the Video's uid). */
const SEGMENT =
  /^(?:\/api\/video\/(\d+)|\/[a-z0-9][a-z0-9.-]+\/([0-9a-f-]{36}))\/(480p|720p|1080p)\/(segment_\d+\.ts)\/?$/;
const EXPECTED_MODE = process.env.E2E_STREAMING_MODE === 'proxy' ? 'proxy' : 'offload';

// The page's elements as the callbacks of evaluate() see them (tsconfig has no DOM lib: structural types).
interface MediaEl {
  currentTime: number;
  muted: boolean;
  paused: boolean;
  error: { code: number } | null;
}
type DataEl = { dataset: Record<string, string | undefined> };
// (callbacks of evaluate() run in the page: they may use types, never helpers of this module)

describe('admin console in a real browser (chromium + playwright-core) on the make dev platform', function () {
  this.timeout(20 * 60_000);
  let env: Endpoints;
  let browser: Browser | undefined;
  let page: Page;
  let media: MediaDir | undefined;
  let videoId: string;
  /** The Video resource's uid (offloaded segment paths carry it instead of the catalog id). */
  let videoUid = '';
  const title = `Browser test ${Date.now().toString(36)}`;
  const requests: { url: string; at: number; request: Request }[] = [];
  /** The segment match of a request URL when it is one of this test's video: rendition, and whether offloaded. */
  const segmentOf = (url: string) => {
    const m = SEGMENT.exec(new URL(url).pathname);
    if (!m || !(m[1] === videoId || (videoUid && m[2] === videoUid))) return null;
    return { rendition: m[3]!, offloaded: m[2] !== undefined };
  };
  const segmentStatuses: number[] = [];
  const problems: string[] = [];

  before(async function () {
    this.timeout(90 * 60_000); // a cold `hack/dev.sh up` builds images and installs the chart
    env = await ensurePlatform(); // .dev/endpoints.env, after `hack/dev.sh up` when missing or not answering
    media = await createMediaDir('videoflix-browser-');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('request', (r: Request) => requests.push({ url: r.url(), at: Date.now(), request: r }));
    page.on('response', (r) => {
      if (segmentOf(r.url())) segmentStatuses.push(r.status());
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
        problems.push(m.text());
    });
  });

  after(async function () {
    await browser?.close();
    await media?.cleanup();
  });

  it('serves the console through the ingress and signs the admin in', async function () {
    const res = await page.goto(env.ADMIN_URL);
    expect(res?.status()).to.equal(200);
    expect(res?.headers()['content-security-policy']).to.include("script-src 'self'");
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#login-email', env.ADMIN_EMAIL);
    await page.fill('#login-password', env.ADMIN_PASSWORD);
    await page.click('#login-submit');
    await page.locator('#console').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await page.textContent('#session-user')).to.equal(env.ADMIN_EMAIL);
    const cookies = await page.context().cookies();
    const access = cookies.find((c) => c.name === 'access_token');
    expect(access?.httpOnly, 'access_token is an HTTP-only cookie').to.equal(true);
  });

  it('uploads a generated clip with a progress bar that reaches 100 %', async function () {
    const clip = await generateClip(media!.dir, { durationSec: 10, width: 1280, height: 720, fps: 25 });
    await page.fill('#upload-title', title);
    await page.fill('#upload-category', 'Browser tests');
    await page.fill('#upload-description', 'Uploaded by test/e2e/browser/admin-console.test.ts');
    await page.setInputFiles('#upload-file', clip);
    await page.click('#upload-submit');
    await page
      .locator('#upload-status[data-state="done"], #upload-status[data-state="failed"]')
      .waitFor({ timeout: 120_000 });
    const status = await page.textContent('#upload-status');
    expect(await page.getAttribute('#upload-status', 'data-state'), status ?? '').to.equal('done');
    expect(await page.$eval('#upload-progress', (p) => (p as unknown as { value: number }).value)).to.equal(
      100,
    );
    videoId = (await page.getAttribute('#upload-status', 'data-video-id')) ?? '';
    expect(videoId).to.match(/^\d+$/);
    // the admin list names the Video resource (the page's cookies: page.request shares the context's)
    const admin = (await (
      await page.request.get(new URL('/api/admin/videos/', env.API_URL).href)
    ).json()) as Array<{
      id: number;
      resource: { uid: string } | null;
    }>;
    videoUid = admin.find((v) => String(v.id) === videoId)?.resource?.uid ?? '';
    expect(videoUid, 'the Video resource of the upload').to.match(/^[0-9a-f-]{36}$/);
  });

  it('shows the video in the list until it is Ready, with per-rendition progress', async function () {
    const row = page.locator(`#videos-body tr[data-id="${videoId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('td.title').textContent()).to.equal(title);
    let last = '';
    const t0 = Date.now();
    await waitFor(
      async () => {
        const phase = await row.getAttribute('data-phase');
        const renditions = (await row.locator('td.renditions').innerText()).replace(/\s+/g, ' ').trim();
        const seen = `${phase} | ${renditions}`;
        if (seen !== last) console.log(`      ${((Date.now() - t0) / 1000).toFixed(0)} s: ${(last = seen)}`);
        if (phase === 'Failed')
          throw new Error(`the video Failed: ${await row.locator('td.error-reason').innerText()}`);
        return phase === 'Ready';
      },
      { timeoutMs: 15 * 60_000, intervalMs: 1000, what: `video ${videoId} Ready in the console's list` },
    );
    // a 720p source: 480p and 720p are made, 1080p is skipped (never upscaled); every made one Succeeded
    const states = await row
      .locator('.rendition')
      .evaluateAll((els) =>
        els.map(
          (e) => `${(e as unknown as DataEl).dataset.rendition}=${(e as unknown as DataEl).dataset.phase}`,
        ),
      );
    expect(states).to.have.members(['480p=Succeeded', '720p=Succeeded', '1080p=Skipped']);
    expect(await row.locator('td.renditions .muted').textContent()).to.equal('2/2 done, 1 skipped');
    expect(await row.locator('td.renditions progress').getAttribute('value')).to.equal(
      await row.locator('td.renditions progress').getAttribute('max'),
    );
  });

  it('plays it muted with hls.js: currentTime advances and rendition segments are fetched', async function () {
    const row = page.locator(`#videos-body tr[data-id="${videoId}"]`);
    const startedAt = Date.now();
    await row.locator('button.play').click();
    await page.locator('#player').waitFor({ state: 'visible' });
    const video = page.locator('#player-video');
    const t1 = await waitFor(
      async () => {
        const t = await video.evaluate((v) => (v as unknown as MediaEl).currentTime);
        return t > 0.5 ? t : 0;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the video to start playing' },
    );
    const t2 = await waitFor(
      async () => {
        const t = await video.evaluate((v) => (v as unknown as MediaEl).currentTime);
        return t > t1 + 1.5 ? t : 0;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `currentTime to advance past ${t1 + 1.5} s` },
    );
    expect(t2).to.be.greaterThan(t1);
    const state = await video.evaluate((el) => {
      const v = el as unknown as MediaEl;
      return { muted: v.muted, paused: v.paused, error: v.error?.code ?? null };
    });
    expect(state).to.deep.equal({ muted: true, paused: false, error: null });

    const fetched = requests
      .filter((r) => r.at >= startedAt)
      .map((r) => ({ r, seg: segmentOf(r.url) }))
      .filter((x) => x.seg !== null);
    const segments = fetched.map((x) => x.seg!);
    const renditions = [...new Set(segments.map((m) => m.rendition))];
    const offloaded = segments.filter((m) => m.offloaded).length;
    console.log(
      `      fetched ${segments.length} segments of ${renditions.join(', ')} (${offloaded} offloaded to S3); currentTime ${t1.toFixed(2)} → ${t2.toFixed(2)} s`,
    );
    if (EXPECTED_MODE === 'offload') {
      // every segment from the offloaded path, presigned, without a cookie; the playlists from the API with one
      expect(offloaded, 'segments fetched through the API instead of S3').to.equal(segments.length);
      for (const { r } of fetched) {
        expect(new URL(r.url).searchParams.get('X-Amz-Signature'), r.url).to.match(/^[0-9a-f]{64}$/);
        expect(new URL(r.url).origin, 'same origin as the console').to.equal(new URL(env.API_URL).origin);
        const headers = await r.request.allHeaders();
        expect(headers.cookie, `cookie sent with ${r.url}`).to.equal(undefined);
      }
      const variant = requests.find((r) =>
        /\/api\/video\/\d+\/(480p|720p|1080p)\/index\.m3u8$/.test(new URL(r.url).pathname),
      );
      expect(variant, 'a variant playlist fetched from the API').to.not.equal(undefined);
      expect(
        (await variant!.request.allHeaders()).cookie ?? '',
        'the API call carries the access cookie',
      ).to.contain('access_token=');
    } else {
      expect(offloaded, 'proxy mode: segments through the API').to.equal(0);
    }
    expect(segments.length).to.be.greaterThan(0);
    expect(renditions.length).to.be.greaterThan(0);
    expect(
      segmentStatuses.every((s) => s === 200 || s === 304),
      `segment statuses ${segmentStatuses.join(',')}`,
    ).to.equal(true);
    expect(requests.some((r) => r.url.endsWith(`/api/video/${videoId}/master.m3u8`))).to.equal(true);
  });

  it('switches to the lowest rendition with the switcher and fetches its segments', async function () {
    const options = await page
      .locator('#player-rendition option')
      .evaluateAll((os) =>
        os.map((o) => ({ value: (o as unknown as { value: string }).value, label: o.textContent ?? '' })),
      );
    const lowest = options.find((o) => o.label.startsWith('480p'));
    expect(lowest, `options ${JSON.stringify(options)}`).to.not.equal(undefined);
    // back to the start so there is something left to fetch at the new level
    await page.locator('#player-video').evaluate((v) => ((v as unknown as MediaEl).currentTime = 0));
    const since = Date.now();
    await page.selectOption('#player-rendition', lowest!.value);
    await waitFor(() => requests.some((r) => r.at >= since && segmentOf(r.url)?.rendition === '480p'), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'a 480p segment fetched after switching',
    });
    await waitFor(async () => (await page.locator('#player-video').getAttribute('data-level')) === '480p', {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'hls.js to report the 480p level',
    });
    await waitFor(
      async () =>
        (await page.locator('#player-video').evaluate((v) => (v as unknown as MediaEl).currentTime)) > 1,
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'playback to go on at 480p',
      },
    );
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`      screenshot: ${path.relative(ROOT, SCREENSHOT)}`);
  });

  it('deletes the video from the console', async function () {
    page.once('dialog', (d) => void d.accept());
    await page.locator(`#videos-body tr[data-id="${videoId}"] button.delete`).click();
    await page
      .locator(`#videos-body tr[data-id="${videoId}"]`)
      .waitFor({ state: 'detached', timeout: 120_000 });
  });

  it('had no page error and no Content-Security-Policy violation', function () {
    expect(problems).to.deep.equal([]);
  });
});
