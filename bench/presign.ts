/**
 * Presigning (issue 23, streaming offload): how long signing the segment URLs of a playlist takes with the
 * platform's own SigV4 signer (common/storage/presign.ts) against minio's presigner (the S3 client the
 * platform uses) and, when BENCH_AWS_SDK_DIR names a directory where `@aws-sdk/client-s3` and
 * `@aws-sdk/s3-request-presigner` are installed (not a dependency of the project), @aws-sdk's presigner.
 * Pure CPU, no server: `node --import=tsx bench/presign.ts`.
 *   BENCH_PRESIGN_URLS=600 (URLs per round: a 1-hour video at 6 s segments), BENCH_PRESIGN_ROUNDS=5
 * Each figure is the median of the rounds (after one warm-up round), for one round of URLS URLs.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'minio';
import { S3Presigner, presignPath } from '../common/storage/presign.js';
import { report, say } from './support/lib.js';

const BENCH = 'presign';
const URLS = Number(process.env.BENCH_PRESIGN_URLS ?? 600);
const ROUNDS = Number(process.env.BENCH_PRESIGN_ROUNDS ?? 5);
const HOST = 'videos.example.test';
const BUCKET = 'videoflix-media';
const CREDS = { accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const keyOf = (i: number) =>
  `0d8e7c1a-5b7e-4c1e-9a57-2f9f0b3c0e11/1080p/segment_${String(i).padStart(3, '0')}.ts`;

async function median(fn: () => Promise<void> | void): Promise<number> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function main() {
  const date = new Date();
  const own = new S3Presigner({ ...CREDS, region: 'us-east-1' });
  const ownMs = await median(() => {
    for (let i = 0; i < URLS; i++)
      own.presignGet({ host: HOST, path: presignPath(BUCKET, keyOf(i)), date, expiresSeconds: 14400 });
  });
  const minio = new Client({ endPoint: HOST, useSSL: false, pathStyle: true, region: 'us-east-1', ...CREDS });
  const minioMs = await median(async () => {
    for (let i = 0; i < URLS; i++) await minio.presignedUrl('GET', BUCKET, keyOf(i), 14400, {}, date);
  });
  say(`  ${URLS} URLs per round, median of ${ROUNDS} rounds`);
  report({
    bench: BENCH,
    metric: `own SigV4 signer, ${URLS} URLs`,
    value: ownMs,
    unit: 'ms',
    baseline: { label: "minio's presignedUrl", value: minioMs },
    ratio: ownMs / minioMs,
    note: `${((ownMs * 1000) / URLS).toFixed(1)} µs per URL`,
  });
  const dir = process.env.BENCH_AWS_SDK_DIR;
  if (dir) {
    const mod = (name: string) =>
      import(pathToFileURL(path.join(dir, 'node_modules', name, 'dist-cjs/index.js')).href) as Promise<
        Record<string, unknown>
      >;
    const s3 = (await mod('@aws-sdk/client-s3')) as {
      S3Client: new (o: unknown) => unknown;
      GetObjectCommand: new (o: unknown) => unknown;
    };
    const { getSignedUrl } = (await mod('@aws-sdk/s3-request-presigner')) as {
      getSignedUrl: (c: unknown, cmd: unknown, o: unknown) => Promise<string>;
    };
    const client = new s3.S3Client({
      region: 'us-east-1',
      endpoint: `http://${HOST}`,
      forcePathStyle: true,
      credentials: { accessKeyId: CREDS.accessKey, secretAccessKey: CREDS.secretKey },
    });
    const sdkMs = await median(async () => {
      for (let i = 0; i < URLS; i++)
        await getSignedUrl(client, new s3.GetObjectCommand({ Bucket: BUCKET, Key: keyOf(i) }), {
          expiresIn: 14400,
          signingDate: date,
        });
    });
    report({
      bench: BENCH,
      metric: `own SigV4 signer, ${URLS} URLs (vs @aws-sdk)`,
      value: ownMs,
      unit: 'ms',
      baseline: { label: "@aws-sdk's getSignedUrl", value: sdkMs },
      ratio: ownMs / sdkMs,
      note: `@aws-sdk ${((sdkMs * 1000) / URLS).toFixed(0)} µs per URL`,
    });
  }
}

await main();
