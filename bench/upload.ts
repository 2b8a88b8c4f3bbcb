/**
 * Benchmark 3 (issue 16): a large source through POST /api/admin/videos/ (multipart, streamed by
 * the API to versitygw) against the minio client's putObject of the same file straight to
 * versitygw. Reported per size: throughput of both and their ratio, and the API process's peak
 * memory growth during the upload (VmHWM reset before it through /proc/<pid>/clear_refs, compared
 * with the RSS before). The file is a generated clip (so the API's sniffing accepts it) padded with
 * random bytes to the size.
 *   BENCH_UPLOAD_SIZES_MIB=256,1024 (default)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createMediaDir } from '@videoflix/testkit/media';
import { FRONTEND_ORIGIN, startApi } from './support/api.js';
import { hostTier, MiB, procMem, report, resetPeak, say } from './support/lib.js';

const BENCH = 'upload';
const SIZES = (process.env.BENCH_UPLOAD_SIZES_MIB ?? '256,1024')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);

async function makeFile(dir: string, clip: string, bytes: number): Promise<string> {
  const out = path.join(dir, `upload-${bytes}.mp4`);
  await fsp.copyFile(clip, out);
  const fh = await fsp.open(out, 'a');
  try {
    let left = bytes - (await fh.stat()).size;
    const chunk = crypto.randomBytes(4 * MiB);
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      await fh.write(chunk, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
  return out;
}

/** The multipart request a browser's form makes: fields first, the file last, streamed from disk. */
async function upload(
  url: string,
  cookie: string,
  file: string,
  title: string,
): Promise<{ status: number; body: string }> {
  const boundary = `----bench${crypto.randomBytes(8).toString('hex')}`;
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head = Buffer.from(
    field('title', title) +
      field('description', 'benchmark upload') +
      field('category', 'Bench') +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: video/mp4\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = (await fsp.stat(file)).size;
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/api/admin/videos/`,
      {
        method: 'POST',
        headers: {
          cookie,
          origin: FRONTEND_ORIGIN,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + size + tail.length),
        },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write(head);
    const rs = fs.createReadStream(file, { highWaterMark: 1024 * 1024 });
    rs.on('error', reject);
    rs.pipe(req, { end: false });
    rs.on('end', () => req.end(tail));
  });
}

async function main() {
  const { release } = await hostTier();
  const maxMiB = Math.max(...SIZES);
  const api = await startApi('upload', { UPLOAD_MAX_BYTES: String((maxMiB + 16) * MiB) });
  const media = await createMediaDir('videoflix-bench-upload-');
  try {
    const clip = await media.clip({ durationSec: 2, width: 320, height: 240 });
    // One small upload first, so that code loaded and compiled on first use is not counted as growth.
    const warm = await makeFile(media.dir, clip, 16 * MiB);
    const w = await upload(api.url, api.cookie, warm, 'bench warm-up');
    if (w.status !== 202) throw new Error(`warm-up upload: ${w.status} ${w.body}`);
    await fsp.rm(warm, { force: true });
    for (const mib of SIZES) {
      const bytes = mib * MiB;
      const file = await makeFile(media.dir, clip, bytes);
      // warm the page cache for both readers alike
      await pipeline(fs.createReadStream(file), fs.createWriteStream('/dev/null'));

      const rssBefore = procMem(api.child.pid).rssKb;
      const canReset = resetPeak(api.child.pid);
      const t0 = performance.now();
      const res = await upload(api.url, api.cookie, file, `bench ${mib} MiB`);
      const apiMs = performance.now() - t0;
      const mem = procMem(api.child.pid);
      if (res.status !== 202) throw new Error(`upload of ${mib} MiB: ${res.status} ${res.body}`);
      const { id } = JSON.parse(res.body) as { id: number };
      const [rows] = (await api.db.sequelize.query('SELECT source_key FROM videos WHERE id = :id', {
        replacements: { id },
      })) as unknown as [Array<{ source_key: string }>];
      const stored = await api.s3.statObject(api.sources, rows[0]!.source_key);
      if (stored.size !== bytes) throw new Error(`stored ${stored.size} bytes, sent ${bytes}`);
      await api.s3.removeObject(api.sources, rows[0]!.source_key);

      const key = `direct/${mib}.mp4`;
      const t1 = performance.now();
      await api.s3.putObject(api.sources, key, fs.createReadStream(file), bytes, {
        'Content-Type': 'video/mp4',
      });
      const directMs = performance.now() - t1;
      await api.s3.removeObject(api.sources, key);
      await fsp.rm(file, { force: true });

      const apiMibs = mib / (apiMs / 1000);
      const directMibs = mib / (directMs / 1000);
      const growthMiB = ((canReset ? mem.hwmKb : mem.hwmKb) - rssBefore) / 1024;
      report({
        bench: BENCH,
        metric: `${mib} MiB via POST /api/admin/videos/`,
        value: apiMibs,
        unit: 'MiB/s',
        baseline: { label: 'minio putObject direct', value: directMibs },
        ratio: apiMibs / directMibs,
        note: `${(apiMs / 1000).toFixed(1)} s vs ${(directMs / 1000).toFixed(1)} s`,
      });
      report({
        bench: BENCH,
        metric: `${mib} MiB: API peak memory growth`,
        value: growthMiB,
        unit: 'MiB',
        baseline: { label: 'API RSS before', value: rssBefore / 1024 },
        goal: '< 100 MiB, flat in size',
        note: canReset
          ? `VmHWM ${(mem.hwmKb / 1024).toFixed(0)} MiB after a reset to the RSS before the upload`
          : 'VmHWM could not be reset: peak since start',
      });
      say(`  ${mib} MiB done`);
    }
  } finally {
    await media.cleanup();
    await api.stop();
    await release();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`upload failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
