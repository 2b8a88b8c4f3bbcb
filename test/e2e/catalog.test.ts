/**
 * The catalog end to end on the kind cluster (issue 13), against the platform `make dev` installed with
 * the chart (test/support/platform.ts: .dev/endpoints.env, `hack/dev.sh up` when it is missing or its API
 * does not answer; kubectl and S3 through the platform's kubeconfig).
 *
 * An admin uploads a 1080p sample generated here → the operator's Jobs run the transcoder in the cluster →
 * the catalog shows it Ready → a signed-in user lists it, fetches the master playlist, each variant and
 * every segment through the API with cookies (URIs resolved as a player resolves them), and ffprobe
 * decodes each variant so fetched. Unhappy paths: no cookie → 401; unknown resolution or segment and
 * traversal → 404; not Ready → 404; a non-admin upload → 403; a non-video upload → 415; an upload cut off
 * half-way → no row and no Video left. The list through the ingress in br and gzip (compressed once, by
 * the API). The broker is stopped while a video is processed (RabbitMQ scaled to 0, then back): the
 * catalog still ends Ready (queued messages, or the API's resync).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { waitForMail } from '../support/mail.js';
import { ensurePlatform, kubectl, NS, openS3, type Endpoints, type S3Access } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

const execFileP = promisify(execFile);
const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 15 * 60_000);

interface AdminVideo {
  id: number;
  title: string;
  phase: string;
  error: string | null;
  renditions: Array<{ name: string; phase: string }>;
  resource: { name: string } | null;
}

const uris = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

describe('catalog end to end on the kind cluster: upload → Jobs → Ready → authenticated HLS', function () {
  this.timeout(READY_TIMEOUT_MS + 10 * 60_000);
  let env: Endpoints;
  let api: string;
  let media: MediaDir;
  let s3: S3Access | undefined;
  let adminAccess: string;
  let userCookie: string;
  const tag = Date.now().toString(36);

  /** Access token from a login's Set-Cookie (used as Bearer by the admin: an API client, no CSRF Origin needed). */
  async function login(email: string, password: string): Promise<{ access: string; cookie: string }> {
    const res = await fetch(`${api}/api/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    expect(res.status, await res.clone().text()).to.equal(200);
    const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
    const access = cookies.find((c) => c.startsWith('access_token='))!.slice('access_token='.length);
    return { access, cookie: `access_token=${access}` };
  }

  async function upload(token: string, file: string, title: string): Promise<Response> {
    const form = new FormData();
    form.set('title', title);
    form.set('description', 'uploaded by test/e2e/catalog.test.ts');
    form.set('category', 'E2E');
    form.set('file', new Blob([await fsp.readFile(file)], { type: 'video/mp4' }), path.basename(file));
    return fetch(`${api}/api/admin/videos/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
  }

  async function adminList(): Promise<AdminVideo[]> {
    const res = await fetch(`${api}/api/admin/videos/`, {
      headers: { Authorization: `Bearer ${adminAccess}` },
    });
    expect(res.status).to.equal(200);
    return (await res.json()) as AdminVideo[];
  }

  const waitPhase = (id: number, phase: string, timeoutMs = READY_TIMEOUT_MS) =>
    waitFor(
      async () => {
        const v = (await adminList()).find((x) => x.id === id);
        if (v?.phase === 'Failed' && phase !== 'Failed') throw new Error(`video ${id} Failed: ${v.error}`);
        return v?.phase === phase ? v : undefined;
      },
      { timeoutMs, intervalMs: 3000, what: `video ${id} ${phase} in the catalog` },
    );

  const get = (p: string, cookie?: string) =>
    fetch(`${api}${p}`, { headers: cookie ? { Cookie: cookie } : {} });

  before(async function () {
    this.timeout(90 * 60_000); // a cold `hack/dev.sh up` builds images and installs the chart
    env = await ensurePlatform();
    api = env.API_URL.replace(/\/+$/, '');
    s3 = await openS3();
    media = await createMediaDir('videoflix-e2e-catalog-');
    adminAccess = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access;
    // an ordinary user, registered and activated through the API and the mailed link
    const email = `e2e-user-${tag}@example.test`;
    const password = 'lantern-orbit-velvet-42';
    const reg = await fetch(`${api}/api/register/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password, confirmed_password: password }),
    });
    expect(reg.status).to.equal(201);
    const { user, token } = (await reg.json()) as { user: { id: number }; token: string };
    // activated as a user would: through the link in the mail the bundled mail catcher captured
    process.env.MAIL_API_URL = env.MAIL_API_URL;
    process.env.MAIL_USER = env.MAIL_USER;
    process.env.MAIL_PASSWORD = env.MAIL_PASSWORD;
    const mail = await waitForMail({ to: email, subject: /confirm/i }, { timeoutMs: 60_000 });
    const link = /https?:\/\/[^\s"<]*uid=[^\s"<]+/.exec(mail.text ?? '')?.[0];
    expect(link, `activation link in: ${mail.text}`).to.be.a('string');
    const params = new URL(link!).searchParams;
    expect(params.get('uid')).to.equal(Buffer.from(String(user.id)).toString('base64url'));
    expect(params.get('token')).to.not.equal(token); // the answer's token activates nothing (issue 21)
    const activated = await fetch(`${api}/api/activate/${params.get('uid')}/${params.get('token')}/`);
    expect(activated.status).to.equal(200);
    userCookie = (await login(email, password)).cookie;
  });

  after(async function () {
    await media?.cleanup();
    await s3?.stop();
  });

  let readyId: number;

  it('an admin upload of a 1080p sample becomes Ready through the Jobs in the cluster', async function () {
    const clip = await media.clip({ durationSec: 8, width: 1920, height: 1080 });
    const res = await upload(adminAccess, clip, `E2E 1080p ${tag}`);
    expect(res.status, await res.clone().text()).to.equal(202);
    const body = (await res.json()) as { id: number; status: string };
    expect(body.status).to.equal('pending');
    const t0 = Date.now();
    const v = await waitPhase(body.id, 'Ready');
    console.log(`      Ready after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    expect(v.renditions.filter((r) => r.phase === 'Succeeded').map((r) => r.name)).to.have.members([
      '480p',
      '720p',
      '1080p',
    ]);
    readyId = body.id;
    // the resource as kubectl sees it
    const phase = kubectl([
      'get',
      'videos.media.videoflix.io',
      v.resource!.name,
      '-n',
      NS,
      '-o',
      'jsonpath={.status.phase}',
    ]);
    expect(phase).to.equal('Ready');
  });

  it('a signed-in user lists it and plays every variant through the API with cookies; ffprobe decodes them', async function () {
    const list = await get('/api/video/', userCookie);
    expect(list.status).to.equal(200);
    const items = (await list.json()) as Array<Record<string, unknown>>;
    const item = items.find((i) => i.id === readyId);
    expect(item).to.not.equal(undefined);
    expect(Object.keys(item!)).to.deep.equal([
      'id',
      'created_at',
      'title',
      'description',
      'thumbnail_url',
      'category',
    ]);
    const thumb = await fetch(String(item!.thumbnail_url).replace(/^https?:\/\/[^/]+/, api), {
      headers: { Cookie: userCookie },
    });
    expect(thumb.status).to.equal(200);
    expect(thumb.headers.get('content-type')).to.equal('image/jpeg');

    const masterUrl = new URL(`/api/video/${readyId}/master.m3u8`, api);
    const master = await get(masterUrl.pathname, userCookie);
    expect(master.status).to.equal(200);
    expect(master.headers.get('content-type')).to.equal('application/vnd.apple.mpegurl');
    const variants = uris(await master.text());
    expect(variants).to.have.length(3);
    for (const variant of variants) {
      const variantUrl = new URL(variant, masterUrl);
      const playlist = await get(variantUrl.pathname, userCookie);
      expect(playlist.status, variantUrl.pathname).to.equal(200);
      const out = path.join(media.dir, `${variant.split('/')[0]}.ts`);
      for (const s of uris(await playlist.text())) {
        // a segment route of the API (proxy) or a presigned S3 URL (streaming offload): the query is the signature
        const segUrl = new URL(s, variantUrl);
        const seg = await get(segUrl.pathname + segUrl.search, userCookie);
        expect(seg.status, segUrl.pathname).to.equal(200);
        expect(seg.headers.get('content-type')).to.equal('video/MP2T');
        const bytes = Buffer.from(await seg.arrayBuffer());
        expect(Number(seg.headers.get('content-length'))).to.equal(bytes.length);
        await fsp.appendFile(out, bytes);
      }
      // the original's trailing-slash form of the segment route works too (offload: a 302 that fetch follows)
      expect(
        (await get(`${variantUrl.pathname.replace('index.m3u8', 'segment_000.ts')}/`, userCookie)).status,
      ).to.equal(200);
      const { stdout } = await execFileP('ffprobe', [
        '-v',
        'error',
        '-print_format',
        'json',
        '-show_streams',
        '-show_format',
        out,
      ]);
      const probe = JSON.parse(stdout) as {
        streams: Array<{ codec_type: string; height?: number }>;
        format: { duration: string };
      };
      expect(probe.streams.find((x) => x.codec_type === 'video')?.height).to.equal(
        Number(variant.split('p/')[0]),
      );
      expect(Number(probe.format.duration)).to.be.closeTo(8, 1);
    }
  });

  it('sends the list through the ingress compressed once, as the client asks (br, gzip, else identity), 304 per coding', async function () {
    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        http
          .get(`${api}/api/video/`, { headers: { Cookie: userCookie, ...headers } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
            );
          })
          .on('error', reject);
      });
    const plain = await raw({ 'Accept-Encoding': 'identity' });
    expect(plain.status).to.equal(200);
    expect(plain.headers['content-encoding']).to.equal(undefined);
    const decode = { br: zlib.brotliDecompressSync, gzip: zlib.gunzipSync };
    for (const encoding of ['br', 'gzip'] as const) {
      const r = await raw({ 'Accept-Encoding': encoding });
      expect(r.status, encoding).to.equal(200);
      // one coding, the API's: an ingress that compressed again would say "br, gzip" or change the bytes
      expect(r.headers['content-encoding'], encoding).to.equal(encoding);
      expect(r.headers.vary, encoding).to.match(/Accept-Encoding/i);
      expect(decode[encoding](r.body).equals(plain.body), encoding).to.equal(true);
      const again = await raw({ 'Accept-Encoding': encoding, 'If-None-Match': String(r.headers.etag) });
      expect(again.status, encoding).to.equal(304);
    }
    const unknown = await raw({ 'Accept-Encoding': 'zstd' });
    expect(unknown.headers['content-encoding']).to.equal(undefined);
    expect(unknown.body.equals(plain.body)).to.equal(true);
  });

  it('answers 401 without a cookie and 404 for unknown resolutions, segments and traversal', async function () {
    for (const p of [
      '/api/video/',
      `/api/video/${readyId}/master.m3u8`,
      `/api/video/${readyId}/480p/segment_000.ts/`,
    ]) {
      expect((await get(p)).status, p).to.equal(401);
    }
    for (const p of [
      `/api/video/${readyId}/240p/index.m3u8`,
      `/api/video/${readyId}/480p/segment_9999.ts/`,
      `/api/video/${readyId}/480p/index.json`,
      `/api/video/${readyId}/480p/..%2F..%2Fmaster.m3u8`,
      `/api/video/${readyId}/..%2F480p/index.m3u8`,
      `/api/video/${readyId}%2F..%2F1/master.m3u8`,
      `/api/video/${readyId}/480p/%2e%2e%2fthumbnail.jpg`,
      '/api/video/99999999/master.m3u8',
    ]) {
      expect((await get(p, userCookie)).status, p).to.equal(404);
    }
  });

  it('refuses a non-admin upload (403) and a non-video (415); an upload cut off half-way leaves nothing', async function () {
    // the platform is shared (other tests upload and delete meanwhile): look for what this upload would leave
    const sourcesBefore = new Set(await s3!.list(s3!.sourceBucket, ''));
    const cutTitle = `cut ${tag}`;
    const clip = await media.clip({ durationSec: 1 });
    const userAccess = userCookie.slice('access_token='.length);
    expect((await upload(userAccess, clip, 'not allowed')).status).to.equal(403);
    const noise = await media.randomFile(512 * 1024);
    const refused = await upload(adminAccess, noise, 'noise');
    expect(refused.status).to.equal(415);

    // 12 MiB of a 64 MiB body, then the connection drops
    const boundary = `----e2e${tag}`;
    const pre = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${cutTitle}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    );
    const head = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(12)]);
    await new Promise<void>((resolve) => {
      const req = http.request(new URL('/api/admin/videos/', api), {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${adminAccess}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(pre.length + 64 * 1024 * 1024 + 64),
        },
      });
      req.on('error', () => resolve());
      req.write(Buffer.concat([pre, head]));
      const block = Buffer.alloc(1024 * 1024, 0x5a);
      let sent = 0;
      const pump = () => {
        while (sent < 12) {
          sent++;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 1000);
      };
      pump();
    });
    await waitFor(
      async () => {
        const rows = (await adminList()).filter((v) => v.title === cutTitle);
        const videos = JSON.parse(kubectl(['get', 'videos.media.videoflix.io', '-n', NS, '-o', 'json']))
          .items as Array<{
          spec: { title: string; source: { key: string } };
        }>;
        const referenced = new Set(videos.map((v) => v.spec.source.key));
        const orphans = (await s3!.list(s3!.sourceBucket, '')).filter(
          (k) => !sourcesBefore.has(k) && !referenced.has(k),
        );
        const cutVideos = videos.filter((v) => v.spec.title === cutTitle);
        if (rows.length === 0 && cutVideos.length === 0 && orphans.length === 0) return true;
        throw new Error(
          `rows ${rows.length}, videos ${cutVideos.length}, orphan sources ${orphans.join(', ')}`,
        );
      },
      { timeoutMs: 30_000, what: 'nothing left of the cut-off upload' },
    );
  });

  it('a video not yet Ready is 404 to users; stopping the broker while it processes still ends Ready', async function () {
    const clip = await media.clip({ durationSec: 6, width: 1280, height: 720 });
    const res = await upload(adminAccess, clip, `E2E broker outage ${tag}`);
    expect(res.status).to.equal(202);
    const { id } = (await res.json()) as { id: number };
    expect((await get(`/api/video/${id}/master.m3u8`, userCookie)).status).to.equal(404);
    const sts = kubectl([
      'get',
      'statefulset',
      '-n',
      NS,
      '-l',
      'app.kubernetes.io/component=rabbitmq',
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ]).trim();
    expect(sts).to.not.equal('');
    kubectl(['scale', 'statefulset', sts, '-n', NS, '--replicas=0']);
    try {
      await waitFor(
        () =>
          kubectl([
            'get',
            'pods',
            '-n',
            NS,
            '-l',
            'app.kubernetes.io/component=rabbitmq',
            '-o',
            'name',
          ]).trim() === '',
        {
          timeoutMs: 120_000,
          intervalMs: 2000,
          what: 'RabbitMQ gone',
        },
      );
      // let the Jobs make progress (and phase changes happen) while the broker is away
      await new Promise((r) => setTimeout(r, 20_000));
    } finally {
      kubectl(['scale', 'statefulset', sts, '-n', NS, '--replicas=1']);
    }
    kubectl(['rollout', 'status', `statefulset/${sts}`, '-n', NS, '--timeout=300s'], { timeoutMs: 320_000 });
    await waitPhase(id, 'Ready');
    expect((await get(`/api/video/${id}/master.m3u8`, userCookie)).status).to.equal(200);
  });
});
