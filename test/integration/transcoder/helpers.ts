/**
 * Helpers for the transcoder's integration tests: the program's one-file bundle run as a child
 * process, as the Job runs it, against the host tier's S3 server.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'minio';
import { bundleTranscoder } from '../../../hack/bundle-transcoder.js';
import { createMediaDir, type MediaDir } from '../../support/media.js';

/** Keys under a prefix, sorted (the operator tests' helper). */
export { listKeys } from '../operator/helpers.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function s3(): Client {
  const url = new URL(process.env.S3_ENDPOINT!);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    region: process.env.S3_REGION ?? 'us-east-1',
    accessKey: process.env.S3_ACCESS_KEY!,
    secretKey: process.env.S3_SECRET_KEY!,
    pathStyle: true,
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  termination: string | undefined;
  seconds: number;
}

/** Where a run reads and writes: the bundle, its work directory (termination files too) and buckets. */
export interface TranscoderSetup {
  bundle: string;
  work: string;
  sourceBucket: string;
  mediaBucket: string;
}

/** `node <bundle> ...args` with the Job's environment plus `env`; its output and termination message. */
export async function runTranscoder(
  o: TranscoderSetup,
  args: string[],
  env: Record<string, string>,
): Promise<RunResult> {
  const termination = path.join(o.work, `term-${crypto.randomBytes(4).toString('hex')}`, 'termination-log');
  const started = performance.now();
  const child = spawn(process.execPath, [o.bundle, ...args], {
    cwd: REPO,
    env: {
      ...process.env,
      SOURCE_BUCKET: o.sourceBucket,
      MEDIA_BUCKET: o.mediaBucket,
      TERMINATION_MESSAGE_PATH: termination,
      WORK_DIR: o.work,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const msg = await fsp.readFile(termination, 'utf8').catch(() => undefined);
  return { code, stdout, stderr, termination: msg, seconds: (performance.now() - started) / 1000 };
}

/** A run's exit, termination message and output tail, for an assertion's message. */
export function explain(r: RunResult): string {
  return `exit ${String(r.code)}; termination: ${r.termination ?? '(none)'}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`;
}

/** Best effort: empties and removes the run's buckets (unique to it, so a failure only leaves garbage). */
export async function removeBuckets(client: Client, buckets: string[], what: string): Promise<void> {
  for (const bucket of buckets) {
    try {
      const names: string[] = [];
      for await (const o of client.listObjectsV2(bucket, '', true)) names.push((o as { name: string }).name);
      if (names.length) await client.removeObjects(bucket, names);
      await client.removeBucket(bucket);
    } catch (err) {
      console.warn(`${what}: could not remove bucket ${bucket}: ${(err as Error).message}`);
    }
  }
}

/**
 * A run's set-up: its two buckets made, a media directory (`mediaPrefix`, for the clips) holding a
 * work directory and the transcoder bundle, built here as the image builds it.
 */
export async function setUpRun(
  client: Client,
  sourceBucket: string,
  mediaBucket: string,
  mediaPrefix: string,
): Promise<{ media: MediaDir; work: string; bundle: string }> {
  await client.makeBucket(sourceBucket);
  await client.makeBucket(mediaBucket);
  const media = await createMediaDir(mediaPrefix);
  try {
    const work = await fsp.mkdtemp(path.join(media.dir, 'work-'));
    // .mjs: an ES module without a package.json beside it (the image has {"type":"module"} in /app)
    const bundle = path.join(media.dir, 'bundle', 'main.mjs');
    await bundleTranscoder(bundle);
    return { media, work, bundle };
  } catch (err) {
    await media.cleanup();
    throw err;
  }
}
