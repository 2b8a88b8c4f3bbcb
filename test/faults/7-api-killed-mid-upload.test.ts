/**
 * Fault 7 (issue 20): the API Pod killed in the middle of a large upload (256 MiB announced, the Pod deleted
 * after about 24 MiB were sent: SIGTERM and its grace period, as an eviction or a node drain kills it). The admin gets an error (never a 202), no catalog row or Video is left
 * behind, the source object and the incomplete multipart parts are removed, and the same admin can upload
 * again as soon as an API Pod serves.
 */
import { expect } from 'chai';
import http from 'node:http';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { kubectlAsync } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';
import {
  deletePod,
  GROUP,
  NS,
  PLURAL,
  Platform,
  readyPod,
  scenario,
  seconds,
  waitForReplacement,
  faultIt,
} from './support.js';

const LEFTOVER_TIMEOUT_MS = Number(process.env.FAULTS_UPLOAD_CLEANUP_TIMEOUT_MS ?? 120_000);

describe('fault 7: the API killed mid-upload', function () {
  let p: Platform;
  let media: MediaDir;
  const tag = Date.now().toString(36);

  before(async function () {
    this.timeout(90 * 60_000);
    p = await Platform.open();
    media = await createMediaDir('videoflix-faults-7-');
  });

  after(async function () {
    await media?.cleanup();
    await p?.close();
  });

  faultIt(
    '7 an API Pod killed mid-upload: an error to retry, no row, no source, no multipart parts left',
    async function () {
      const fig = scenario(
        this,
        '7',
        'API Pod killed (deleted: SIGTERM) mid-upload (256 MiB)',
        'the admin gets an error; no catalog row, Video, source object or incomplete multipart upload left; a retry succeeds',
      );
      const title = `faults 7 ${tag}`;
      const s3 = await p.s3();
      const sourcesBefore = new Set(await s3.list(s3.sourceBucket, ''));
      const api = (await readyPod('api'))!;
      const boundary = `----faults${tag}`;
      const pre = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${title}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\nkilled mid-upload\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nFaults\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
      );
      // an MP4 header (the API sniffs the first bytes), then filler
      const head = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(12)]);
      const total = 256 * 1024 * 1024;
      const killAfter = 24 * 1024 * 1024;
      const answer = await new Promise<string>((done) => {
        let finished = false;
        const resolve = (a: string) => {
          if (finished) return;
          finished = true;
          done(a);
        };
        const req = http.request(new URL('/api/admin/videos/', p.api), {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${p.admin.access}`,
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': String(pre.length + head.length + total + `\r\n--${boundary}--\r\n`.length),
          },
        });
        const timer = setTimeout(() => {
          req.destroy();
          resolve('hang: no answer in 120 s');
        }, 120_000);
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => {
            clearTimeout(timer);
            resolve(`${res.statusCode} ${body.slice(0, 200)}`);
          });
          res.on('error', (e) => {
            clearTimeout(timer);
            resolve(`error ${e.message}`);
          });
        });
        req.on('error', (e) => {
          clearTimeout(timer);
          resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        });
        req.write(Buffer.concat([pre, head]));
        const block = Buffer.alloc(1024 * 1024, 0x5a);
        let sent = 0;
        let killed = false;
        const pump = () => {
          while (sent < total) {
            if (finished || req.destroyed || req.writableEnded) return; // answered or broken: no more body
            if (!killed && sent >= killAfter) {
              killed = true;
              void deletePod(api.name);
            }
            sent += block.length;
            const ok = req.write(block);
            // after the kill, at most 4 MiB/s: the rest outlasts the Pod's grace period (preStop sleep + drain,
            // 30 s), as a large upload over a real link would, instead of finishing inside the drain. A 1 MiB
            // write is always over the socket's high-water mark (write() returns false), so the pause follows
            // the drain too (run 3 paced only on `true` and sent the rest at full speed: a 202 inside the drain)
            if (killed)
              return void (ok ? setTimeout(pump, 250) : req.once('drain', () => setTimeout(pump, 250)));
            if (!ok) return void req.once('drain', pump);
          }
          req.end(`\r\n--${boundary}--\r\n`);
        };
        pump();
      });
      fig.answer = answer.slice(0, 60);
      expect(answer, 'what the admin got').to.not.match(/^2\d\d/);
      expect(answer).to.not.match(/^hang/);

      const t0 = Date.now();
      await waitForReplacement('api', api.uid);
      await waitFor(async () => (await p.get('/readyz')).status === 200, {
        timeoutMs: 120_000,
        intervalMs: 500,
        what: 'the API ready through the ingress',
      });
      fig.apiBackSeconds = seconds(Date.now() - t0);

      // nothing of the upload is left
      const left = await waitFor(
        async () => {
          const rows = (await p.adminList()).filter((v) => v.title === title);
          const videos = JSON.parse(await kubectlAsync(['get', `${PLURAL}.${GROUP}`, '-n', NS, '-o', 'json']))
            .items as Array<{ spec: { title: string; source: { key: string } } }>;
          const referenced = new Set(videos.map((v) => v.spec.source.key));
          const s = await p.s3();
          const orphans = (await s.list(s.sourceBucket, '')).filter(
            (k) => !sourcesBefore.has(k) && !referenced.has(k),
          );
          const parts: string[] = [];
          for await (const u of s.client.listIncompleteUploads(s.sourceBucket, '', true) as AsyncIterable<{
            key: string;
          }>) {
            parts.push(u.key);
          }
          const state = {
            rows: rows.length,
            videos: videos.filter((v) => v.spec.title === title).length,
            orphanSources: orphans.length,
            incompleteUploads: parts.length,
          };
          if (Object.values(state).every((n) => n === 0)) return state;
          throw new Error(JSON.stringify(state));
        },
        { timeoutMs: LEFTOVER_TIMEOUT_MS, intervalMs: 2000, what: 'nothing left of the killed upload' },
      ).catch((err: Error) => err);
      fig.leftovers = left instanceof Error ? left.message.replace(/.*last saw: /, '').slice(0, 120) : 0;
      expect(left, 'leftovers of the killed upload').to.not.be.instanceOf(Error);

      // the admin retries
      const clip = await media.clip({ durationSec: 2, width: 320, height: 240 });
      const retried = await p.upload(clip, `${title} retry`);
      fig.retryAccepted = retried > 0;
    },
  );
});
