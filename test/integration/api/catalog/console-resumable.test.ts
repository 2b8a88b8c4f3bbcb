/**
 * The admin console's resumable upload in headless Chromium (playwright-core) on the host tier: the real app
 * (console, tus endpoint, catalog) behind a small front door that stands in for a flaky network. It drops the
 * console's PATCH requests for a while (connections reset mid-body), and later the page is reloaded in the
 * middle of an upload; the console must retry, resume from the server's offset, say "Resumed at N %", and
 * end with one Video whose source has the file's exact bytes.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { MP4_HEAD, objectHash, sha256, startHarness, type Harness } from './helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MiB = 1024 * 1024;

/** Proxies to the app; while `drop` says so, a PATCH is cut after 1 MiB of its body (the socket destroyed). */
async function flakyDoor(target: () => URL, drop: (req: http.IncomingMessage) => boolean) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const to = target();
    seen.push(`${req.method} ${req.url}`);
    const up = http.request(
      { hostname: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    if (req.method === 'PATCH' && drop(req)) {
      let got = 0;
      req.on('data', (c: Buffer) => {
        got += c.length;
        if (got > MiB) {
          up.destroy();
          req.socket.destroy();
        }
      });
    }
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('api catalog: the admin console resumes an interrupted upload (Chromium, tus-js-client)', function () {
  this.timeout(300_000);
  let h: Harness;
  let browser: Browser | undefined;
  let door: Awaited<ReturnType<typeof flakyDoor>>;
  let dir: string;
  /** Whether to cut a PATCH (the tests set it); `patches` counts them from the test's start. */
  let cut: (n: number) => boolean = () => false;
  let patches = 0;
  const problems: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip();
    h = await startHarness('console-tus', { UPLOAD_MAX_BYTES: String(200 * MiB) });
    door = await flakyDoor(
      () => new URL(h.baseUrl),
      () => cut(++patches),
    );
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'videoflix-console-tus-'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async function () {
    await browser?.close();
    await new Promise((r) => (door ? door.server.close(r) : r(undefined)));
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    await h?.close();
  });

  async function signedInPage(): Promise<Page> {
    const context = await browser!.newContext();
    const [name, value] = h.adminCookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: door.url, httpOnly: true }]);
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
        problems.push(m.text());
    });
    await page.goto(`${door.url}/admin/`);
    await page.locator('#console').waitFor({ state: 'visible', timeout: 30_000 });
    return page;
  }

  async function writeFile(name: string, bytes: number) {
    const data = Buffer.concat([MP4_HEAD, randomBytes(bytes - MP4_HEAD.length)]);
    const file = path.join(dir, name);
    await fsp.writeFile(file, data);
    return { file, hash: sha256(data), size: data.length };
  }

  const sourceHash = async (key: string) => (await objectHash(h.s3, h.sources, key)).hash;

  async function fill(page: Page, title: string, file: string) {
    await page.fill('#upload-title', title);
    await page.setInputFiles('#upload-file', file);
    await page.click('#upload-submit');
  }

  it('retries through dropped connections, shows "Resumed at N %", and creates the Video once', async function () {
    const { file, hash, size } = await writeFile('dropped.mp4', 40 * MiB + 4321);
    const page = await signedInPage();
    // the second PATCH (16 MiB in) and every PATCH for the next 2.5 s are cut off mid-body
    patches = 0;
    let until = 0;
    cut = (n) => {
      if (n === 2) until = Date.now() + 2500;
      return Date.now() < until;
    };
    await fill(page, 'Console resumable', file);
    await page.locator('#upload-status[data-state="retrying"]').waitFor({ timeout: 60_000 });
    await page
      .locator('#upload-status[data-state="done"], #upload-status[data-state="failed"]')
      .waitFor({ timeout: 120_000 });
    const text = (await page.textContent('#upload-status')) ?? '';
    expect(await page.getAttribute('#upload-status', 'data-state'), text).to.equal('done');
    const resumed = Number(await page.getAttribute('#upload-status', 'data-resumed'));
    expect(resumed, text).to.be.within(1, 99);
    expect(text).to.match(/resumed at \d+ %/);
    const videoId = await page.getAttribute('#upload-status', 'data-video-id');
    expect(videoId).to.match(/^\d+$/);
    const rows = await h.Video.findAll({ where: { title: 'Console resumable' } });
    expect(rows.map((r) => String(r.id))).to.deep.equal([videoId]);
    expect(Number(rows[0]!.sourceSize)).to.equal(size);
    expect(await sourceHash(rows[0]!.sourceKey!)).to.equal(hash);
    // the list shows it
    await page.locator(`#videos-body tr[data-id="${videoId}"]`).waitFor({ timeout: 30_000 });
    expect(door.seen.filter((s) => s.startsWith('HEAD /api/admin/uploads/')).length).to.be.at.least(1);
    await page.context().close();
  });

  it('resumes after a page reload: the same file chosen again continues where the server is', async function () {
    const { file, hash } = await writeFile('reloaded.mp4', 56 * MiB + 99);
    const page = await signedInPage();
    // every PATCH after the first is cut: the upload cannot get past 16 MiB until the page is reloaded
    patches = 0;
    cut = (n) => n >= 2;
    await fill(page, 'Console reloaded', file);
    await page.locator('#upload-status[data-state="retrying"]').waitFor({ timeout: 60_000 });
    await page.reload();
    cut = () => false;
    await page.locator('#console').waitFor({ state: 'visible', timeout: 30_000 });
    // the same file, the same page (its localStorage): tus-js-client finds the upload by the file's fingerprint
    await fill(page, 'Console reloaded', file);
    await page
      .locator('#upload-status[data-state="done"], #upload-status[data-state="failed"]')
      .waitFor({ timeout: 120_000 });
    const text = (await page.textContent('#upload-status')) ?? '';
    expect(await page.getAttribute('#upload-status', 'data-state'), text).to.equal('done');
    // at least the first 16 MiB PATCH (28 %); the server may have kept part of a cut one (it keeps what arrived)
    const resumed = Number(await page.getAttribute('#upload-status', 'data-resumed'));
    expect(resumed, text).to.be.within(Math.floor(((16 * MiB) / (56 * MiB + 99)) * 100), 99);
    console.log(`      after the reload: ${text}`);
    const videoId = await page.getAttribute('#upload-status', 'data-video-id');
    const rows = await h.Video.findAll({ where: { title: 'Console reloaded' } });
    expect(rows.map((r) => String(r.id))).to.deep.equal([videoId]);
    expect(await sourceHash(rows[0]!.sourceKey!)).to.equal(hash);
    await page.context().close();
    expect(problems).to.deep.equal([]);
  });
});
