/**
 * A real player on the host tier: headless Chromium (playwright-core) runs hls.js (the devDependency the
 * frontend's kind of player is) against the API's routes with the access_token cookie, and plays. The
 * page comes from the same origin (a test-only router), so only the API's own behaviour is under test:
 * the playlists as served must resolve through the routes, segments must arrive with the right types.
 *
 * Twice: in proxy mode (segments through the API), and in streaming offload (issue 23), where a front door
 * stands in for the ingress as the chart configures it: `/<media bucket>/…` goes to versitygw, everything
 * else to the API, path and Host unchanged. hls.js then fetches presigned segment URLs from versitygw through
 * it, without the access cookie (scoped to /api/ as the chart sets it in offload).
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Router } from 'express';
import { chromium, type Browser } from 'playwright-core';
import { waitFor } from '../../../support/waiters.js';
import {
  createVideoResource,
  generateHls,
  laterVersion,
  putMedia,
  REPO_ROOT,
  startHarness,
  statusMessage,
  type GeneratedHls,
  type Harness,
} from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SEGMENT =
  /\/api\/video\/\d+\/(480p|720p)\/segment_\d{3}\.ts\/?$|^\/[\w.-]+\/[0-9a-f-]{36}\/(480p|720p)\/segment_\d{3}\.ts$/;

/** The ingress in front of the platform, in small: `/<bucket>/…` to S3, the rest to the API; path and Host kept. */
async function frontDoor(route: () => { bucket: string; api: URL; s3: URL }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const { bucket, api, s3 } = route();
    const to = req.url!.startsWith(`/${bucket}/`) ? s3 : api;
    const up = http.request(
      { hostname: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const PAGE = `<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="hls.js"></script><script src="main.js"></script></body></html>`;
const MAIN = `
window.__errors = [];
const id = new URLSearchParams(location.search).get('id');
const video = document.getElementById('v');
const hls = new Hls({ maxBufferLength: 4 });
hls.on(Hls.Events.ERROR, (_e, d) => window.__errors.push(d.details + (d.fatal ? ' (fatal)' : '')));
hls.loadSource('/api/video/' + id + '/master.m3u8');
hls.attachMedia(video);
hls.on(Hls.Events.MANIFEST_PARSED, () => { window.__levels = hls.levels.map((l) => l.height); video.play(); });
`;

function playerRouter(): Router {
  const r = Router();
  const csp = "default-src 'self'; script-src 'self'; media-src 'self' blob:; worker-src 'self' blob:";
  r.get(
    '/player/index.html',
    (_req, res) => void res.set('Content-Security-Policy', csp).type('html').send(PAGE),
  );
  r.get('/player/main.js', (_req, res) => void res.type('js').send(MAIN));
  r.get('/player/hls.js', (_req, res) =>
    res.sendFile(path.join(REPO_ROOT, 'node_modules/hls.js/dist/hls.min.js')),
  );
  return r;
}

for (const mode of ['proxy', 'offload'] as const)
  describe(`api catalog: hls.js in headless Chromium plays through the authenticated routes (${mode})`, function () {
    this.timeout(180_000);
    let h: Harness;
    let hls: GeneratedHls;
    let browser: Browser | undefined;
    let id: number;
    let front: http.Server | undefined;
    /** Where the page is loaded from: the API itself, or (offload) the front door. */
    let base: string;

    before(async function () {
      if (!existsSync(CHROMIUM)) this.skip();
      const env: Record<string, string> = {};
      if (mode === 'offload') {
        front = await frontDoor(() => ({
          bucket: h.media,
          api: new URL(h.baseUrl),
          s3: new URL(process.env.S3_ENDPOINT!),
        }));
        env.STREAMING_MODE = 'offload';
        env.STREAMING_HOSTS = `127.0.0.1:${(front.address() as AddressInfo).port}`;
      }
      // the player router is mounted under /api by createApp: pages at /api/player/...
      h = await startHarness(`player-${mode}`, env, { routers: [() => playerRouter()] });
      base = front ? `http://127.0.0.1:${(front.address() as AddressInfo).port}` : h.baseUrl;
      h.catalog.consumer.start();
      hls = await generateHls(
        [
          { name: '480p', height: 480 },
          { name: '720p', height: 720 },
        ],
        6,
      );
      const video = await createVideoResource(h, { title: 'Played in Chromium' });
      await putMedia(h, video.metadata.uid!, hls);
      await h.publish(
        statusMessage(video, {
          phase: 'Ready',
          resourceVersion: laterVersion(video.metadata.resourceVersion!),
        }),
      );
      id = (
        await waitFor(() => h.Video.findOne({ where: { uid: video.metadata.uid!, phase: 'Ready' } }), {
          what: 'Ready',
        })
      ).id;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'],
      });
    });
    after(async function () {
      await browser?.close();
      await hls?.cleanup();
      await h?.close();
      await new Promise((r) => (front ? front.close(r) : r(undefined)));
    });

    it('loads master → variant → segments with the cookie and the playback position advances', async function () {
      const context = await browser!.newContext();
      // the cookie as the API sets it: path / in proxy mode, /api/ in offload (the chart's AUTH_COOKIE_ACCESS_PATH)
      const value = h.userCookie.slice('access_token='.length);
      await context.addCookies([
        {
          name: 'access_token',
          value,
          domain: '127.0.0.1',
          path: mode === 'offload' ? '/api/' : '/',
          httpOnly: true,
        },
      ]);
      const page = await context.newPage();
      const segments: Array<{ url: string; status: number; type: string | undefined; cookie?: string }> = [];
      const problems: string[] = [];
      page.on('response', async (r) => {
        if (SEGMENT.test(new URL(r.url()).pathname))
          segments.push({
            url: r.url(),
            status: r.status(),
            type: r.headers()['content-type'],
            cookie: (await r.request().allHeaders()).cookie,
          });
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const h264 = await page.evaluate(
        'typeof MediaSource !== "undefined" && MediaSource.isTypeSupported(\'video/mp4; codecs="avc1.42c01e,mp4a.40.2"\')',
      );
      if (!h264) this.skip(); // a Chromium build without H.264 cannot play any HLS ladder of ours
      await page.goto(`${base}/api/player/index.html?id=${id}`);
      const position = await waitFor(
        async () => {
          const t = Number(await page.evaluate('document.getElementById("v").currentTime'));
          const errors = (await page.evaluate('window.__errors')) as string[];
          if (errors.some((e) => e.endsWith('(fatal)'))) throw new Error(`hls.js: ${errors.join(', ')}`);
          return t > 2 ? t : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: 'playback past 2 s' },
      );
      expect(position).to.be.greaterThan(2);
      expect(await page.evaluate('window.__levels')).to.deep.equal([480, 720]);
      expect(segments.length).to.be.greaterThan(0);
      for (const s of segments) {
        expect(s.status, s.url).to.equal(200);
        expect(s.type, s.url).to.equal('video/MP2T');
        const url = new URL(s.url);
        expect(url.origin, 'same origin as the page').to.equal(new URL(base).origin);
        if (mode === 'offload') {
          expect(url.pathname, 'offloaded to the media bucket').to.match(new RegExp(`^/${h.media}/`));
          expect(url.searchParams.get('X-Amz-Signature'), s.url).to.match(/^[0-9a-f]{64}$/);
          expect(s.cookie, `no cookie on ${s.url}`).to.equal(undefined);
        } else {
          expect(url.pathname).to.match(/^\/api\/video\//);
        }
      }
      expect(problems).to.deep.equal([]);
      await context.close();
    });

    it('gets 401 for the playlist without the cookie, and hls.js reports it', async function () {
      const context = await browser!.newContext();
      const page = await context.newPage();
      const statuses: number[] = [];
      page.on('response', (r) => {
        if (r.url().includes('/master.m3u8')) statuses.push(r.status());
      });
      await page.goto(`${base}/api/player/index.html?id=${id}`);
      await waitFor(async () => ((await page.evaluate('window.__errors')) as string[]).length > 0, {
        timeoutMs: 30_000,
        what: 'an hls.js error',
      });
      expect(statuses[0]).to.equal(401);
      await context.close();
    });
  });
