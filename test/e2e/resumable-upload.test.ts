/**
 * Resumable uploads end to end on the kind cluster (issue 25), through the ingress URL of `make dev`
 * (.dev/endpoints.env; test/support/platform.ts brings the platform up when it does not answer).
 *
 * A real video made processable at any size: a 10 s 720p MP4 from ffmpeg followed by one top-level `free`
 * box that pads the file to E2E_RESUMABLE_BYTES (default 1 GiB). ISO-BMFF readers skip `free` boxes, so
 * the transcoder processes the clip, while the upload moves the full size. It is sent with the tus 1.0
 * protocol in 16 MiB PATCH requests (the console's chunk size), and interrupted twice:
 *   1. at ~25 %: the connection dropped mid-PATCH (the socket destroyed with the body half-sent);
 *   2. at ~50 %: every API Pod deleted (`kubectl delete pod`) while a PATCH is in flight.
 * Each time the client asks the server for its offset (HEAD, retried while the API comes back) and resumes
 * there. The upload completes, answers its Video's id (Videoflix-Video-Id), the catalog shows it Ready, and
 * the source object in S3 has exactly the file's size and SHA-256.
 *
 * Expiry is tested on the host tier only (test/integration/api/catalog/resumable-upload.test.ts): the
 * chart's api.resumableUploads.expirySeconds is installed by `make dev` with its 24 h default, which this
 * test does not reinstall.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createMediaDir, type MediaDir } from '../support/media.js';
import {
  ensurePlatform,
  kubectl,
  kubectlJson,
  NS,
  openS3,
  type Endpoints,
  type S3Access,
} from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.E2E_RESUMABLE_BYTES ?? 1024 * MiB);
const CHUNK = 16 * MiB;
const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 15 * 60_000);
const VIDEO_ID_HEADER = 'videoflix-video-id';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}
interface PodList {
  items: Array<{
    metadata: { name: string; uid: string };
    status: { containerStatuses?: Array<{ ready: boolean }> };
  }>;
}

/** A real MP4 padded to `size` bytes with a trailing `free` box; resolves with its SHA-256. */
async function paddedVideo(media: MediaDir, size: number): Promise<{ file: string; sha256: string }> {
  const clip = await media.clip({ durationSec: 10, width: 1280, height: 720 });
  const head = await fsp.readFile(clip);
  const pad = size - head.length;
  expect(pad, 'E2E_RESUMABLE_BYTES must exceed the clip').to.be.greaterThan(8);
  expect(pad, 'one 32-bit free box').to.be.lessThan(2 ** 32);
  const file = path.join(media.dir, 'padded.mp4');
  const out = fs.createWriteStream(file);
  const hash = createHash('sha256');
  const write = async (b: Buffer) => {
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  await write(head);
  const box = Buffer.alloc(8);
  box.writeUInt32BE(pad, 0);
  box.write('free', 4, 'latin1');
  await write(box);
  const zeros = Buffer.alloc(8 * MiB);
  for (let left = pad - 8; left > 0; left -= zeros.length)
    await write(zeros.subarray(0, Math.min(left, zeros.length)));
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  return { file, sha256: hash.digest('hex') };
}

describe('resumable upload end to end on the kind cluster: dropped connection, deleted API Pods, Ready', function () {
  this.timeout(READY_TIMEOUT_MS + 30 * 60_000);
  let env: Endpoints;
  let api: string;
  let media: MediaDir;
  let s3: S3Access | undefined;
  let token: string;

  /** One request through the ingress; `dropAfter` destroys the socket once that many body bytes are sent. */
  function request(
    method: string,
    p: string,
    headers: Record<string, string>,
    body?: { file: string; start: number; end: number; dropAfter?: number },
  ): Promise<Answer | 'dropped'> {
    const url = new URL(p, api);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      const req = mod.request(
        url,
        {
          method,
          headers: { 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}`, ...headers },
          rejectUnauthorized: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', () => resolve('dropped'));
        },
      );
      req.on('error', () => resolve('dropped'));
      if (!body) return void req.end();
      let sent = 0;
      const stream = fs.createReadStream(body.file, {
        start: body.start,
        end: body.end - 1,
        highWaterMark: MiB,
      });
      stream.on('data', (c) => {
        sent += c.length;
        if (!req.write(c)) stream.pause();
        if (body.dropAfter !== undefined && sent >= body.dropAfter) {
          stream.destroy();
          req.destroy();
          resolve('dropped');
        }
      });
      req.on('drain', () => stream.resume());
      stream.on('end', () => req.end());
    });
  }

  const patch = (url: string, file: string, offset: number, dropAfter?: number) => {
    const end = Math.min(offset + CHUNK, SIZE);
    return request(
      'PATCH',
      url,
      {
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(end - offset),
      },
      { file, start: offset, end, ...(dropAfter !== undefined ? { dropAfter } : {}) },
    );
  };

  /** The server's offset, asked until the API answers again (Pods replaced: 502/503 from the ingress meanwhile). */
  const serverOffset = (url: string) =>
    waitFor(
      async () => {
        const a = await request('HEAD', url, {});
        if (a === 'dropped' || a.status !== 200) throw new Error(`HEAD: ${a === 'dropped' ? a : a.status}`);
        return Number(a.headers['upload-offset']) + 1; // +1: offset 0 is an answer too
      },
      { timeoutMs: 5 * 60_000, intervalMs: 1000, what: 'the upload offset from the API (HEAD)' },
    ).then((o) => o - 1);

  const apiPods = () =>
    kubectlJson<PodList>(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/component=api']);

  before(async function () {
    this.timeout(90 * 60_000);
    env = await ensurePlatform();
    api = env.API_URL.replace(/\/+$/, '');
    s3 = await openS3();
    media = await createMediaDir('videoflix-e2e-resumable-');
    const res = await fetch(`${api}/api/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
    });
    expect(res.status).to.equal(200);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('access_token='))!;
    token = cookie.split(';')[0]!.slice('access_token='.length);
  });
  after(async function () {
    await media?.cleanup();
    await s3?.stop();
  });

  it(`uploads ${SIZE / MiB} MiB through a dropped connection and deleted API Pods, and the Video becomes Ready`, async function () {
    const { file, sha256 } = await paddedVideo(media, SIZE);
    const title = `E2E resumable ${Date.now().toString(36)}`;
    const meta = [
      `title ${Buffer.from(title).toString('base64')}`,
      `filename ${Buffer.from('padded.mp4').toString('base64')}`,
    ];
    const created = await request('POST', '/api/admin/uploads/', {
      'Upload-Length': String(SIZE),
      'Upload-Metadata': meta.join(','),
    });
    expect(created).to.not.equal('dropped');
    expect((created as Answer).status, (created as Answer).body).to.equal(201);
    const url = (created as Answer).headers.location!;
    const t0 = Date.now();
    let offset = 0;
    let dropped = false;
    let podsDeleted = false;
    let last: Answer | undefined;
    while (offset < SIZE) {
      if (!dropped && offset >= SIZE / 4) {
        dropped = true;
        expect(await patch(url, file, offset, 6 * MiB)).to.equal('dropped');
        const resumed = await serverOffset(url);
        console.log(
          `      connection dropped at ${(offset / MiB).toFixed(0)} MiB; the server kept ${(resumed / MiB).toFixed(1)} MiB`,
        );
        expect(resumed).to.be.at.least(offset);
        offset = resumed;
        continue;
      }
      if (!podsDeleted && offset >= SIZE / 2) {
        podsDeleted = true;
        const before = (await apiPods()).items.map((p) => p.metadata.uid);
        const inFlight = patch(url, file, offset);
        await new Promise((r) => setTimeout(r, 500));
        const names = (await apiPods()).items.map((p) => p.metadata.name);
        kubectl(['delete', 'pod', ...names, '-n', NS, '--wait=false']);
        const answer = await inFlight;
        console.log(
          `      API Pods ${names.join(', ')} deleted during a PATCH (it got ${answer === 'dropped' ? 'dropped' : answer.status})`,
        );
        await waitFor(
          async () => {
            const now = (await apiPods()).items;
            return now.some(
              (p) => !before.includes(p.metadata.uid) && p.status.containerStatuses?.every((c) => c.ready),
            );
          },
          { timeoutMs: 5 * 60_000, intervalMs: 2000, what: 'a new API Pod Ready' },
        );
        offset = await serverOffset(url);
        console.log(`      resumed at ${(offset / MiB).toFixed(1)} MiB on the new Pods`);
        continue;
      }
      const a = await patch(url, file, offset);
      if (a === 'dropped' || a.status >= 500) {
        // a Pod still going away, or the ingress between endpoints: ask where to resume
        offset = await serverOffset(url);
        continue;
      }
      expect(a.status, a.body).to.equal(204);
      offset = Number(a.headers['upload-offset']);
      last = a;
    }
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `      ${(SIZE / MiB).toFixed(0)} MiB uploaded in ${seconds.toFixed(0)} s (${(SIZE / MiB / seconds).toFixed(1)} MiB/s, interruptions included)`,
    );
    expect(dropped && podsDeleted).to.equal(true);
    // the last PATCH answers the Video's id; a HEAD answers it too (and makes it, had the finish been lost)
    let videoId = last?.headers[VIDEO_ID_HEADER] as string | undefined;
    const head = await request('HEAD', url, {});
    expect(head).to.not.equal('dropped');
    videoId ??= (head as Answer).headers[VIDEO_ID_HEADER] as string | undefined;
    expect((head as Answer).headers[VIDEO_ID_HEADER]).to.equal(videoId);
    expect(videoId).to.match(/^\d+$/);

    const key = `${url.split('/').filter(Boolean).pop()}/source`;
    const stat = await s3!.client.statObject(s3!.sourceBucket, key);
    expect(stat.size).to.equal(SIZE);
    const hash = createHash('sha256');
    for await (const c of (await s3!.client.getObject(s3!.sourceBucket, key)) as AsyncIterable<Buffer>)
      hash.update(c);
    expect(hash.digest('hex'), 'the stored source is the file, byte for byte').to.equal(sha256);

    const phase = await waitFor(
      async () => {
        const res = await fetch(`${api}/api/admin/videos/`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const list = (await res.json()) as Array<{ id: number; phase: string; error: string | null }>;
        const v = list.find((x) => String(x.id) === videoId);
        if (v?.phase === 'Failed') throw new Error(`video ${videoId} Failed: ${v.error}`);
        return v?.phase === 'Ready' ? v.phase : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 3000, what: `video ${videoId} Ready` },
    );
    expect(phase).to.equal('Ready');
    const titles = (await (
      await fetch(`${api}/api/admin/videos/`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as Array<{ title: string }>;
    expect(
      titles.filter((v) => v.title === title),
      'exactly one Video for the upload',
    ).to.have.length(1);
  });
});
