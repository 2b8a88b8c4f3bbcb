/**
 * The API as a deployment runs it: api/main.ts as a child process on the host tier, on a fresh
 * database (migrated by the real migrations, test/integration/api/helpers/db.ts), its own buckets in
 * versitygw, a namespace for its Video resources, and a staff user made by api/cli/create-admin.ts
 * and signed in through POST /api/login/.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { Client } from 'minio';
import { createS3Client } from '../../common/storage/index.js';
import { createTestNamespace, kubeConfig, uniqueName } from '@videoflix/testkit/kube';
import { freshDatabase, type TestDatabase } from '@videoflix/testkit/db';
import { BENCH_CACHE, freePort, REPO_ROOT, startNode, waitHttpOk, type Child } from './lib.js';

export const FRONTEND_ORIGIN = 'http://localhost:4200';

export interface BenchApi {
  url: string;
  child: Child;
  db: TestDatabase;
  s3: Client;
  sources: string;
  media: string;
  namespace: string;
  email: string;
  password: string;
  /** Cookie header of the signed-in staff user. */
  cookie: string;
  bcryptCost: number;
  /** Stops the API process and starts it again on the same database and buckets with `env` added (signs in again). */
  restart(env: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export function profileDir(label: string): string {
  return path.join(BENCH_CACHE, 'profiles', label);
}

export function s3Client(): Client {
  const e = process.env;
  return createS3Client({
    S3_ENDPOINT: e.S3_ENDPOINT!,
    S3_REGION: e.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY: e.S3_ACCESS_KEY!,
    S3_SECRET_KEY: e.S3_SECRET_KEY!,
  });
}

/** POST /api/login/ → the Cookie header carrying access_token (and refresh_token). */
export async function login(
  url: string,
  email: string,
  password: string,
  origin = FRONTEND_ORIGIN,
): Promise<string> {
  const res = await fetch(`${url}/api/login/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

export async function startApi(label: string, env: Record<string, string> = {}): Promise<BenchApi> {
  const db = await freshDatabase(`bench_${label}`);
  const kc = kubeConfig();
  const namespace = await createTestNamespace(kc, `bench-${label}`, { waitForServiceAccount: false });
  const s3 = s3Client();
  const suffix = uniqueName('b').slice(2);
  const sources = `bench-src-${suffix}`;
  const media = `bench-media-${suffix}`;
  await s3.makeBucket(sources, process.env.S3_REGION ?? 'us-east-1');
  await s3.makeBucket(media, process.env.S3_REGION ?? 'us-east-1');
  const bcryptCost = Number(env.BCRYPT_COST ?? process.env.BCRYPT_COST ?? 12);
  const email = `bench-admin-${suffix}@example.com`;
  const password = `bench-${crypto.randomBytes(12).toString('hex')}`;
  const common = { DATABASE_URL: db.url, BCRYPT_COST: String(bcryptCost) };
  const admin = startNode(path.join(REPO_ROOT, 'api/cli/create-admin.ts'), {
    ...common,
    ADMIN_EMAIL: email,
    ADMIN_PASSWORD: password,
  });
  const code = await new Promise<number | null>((r) => admin.proc.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`create-admin exited ${code}: ${admin.output()}`);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const jwtSecret = crypto.randomBytes(48).toString('base64');
  const spawnApi = (extra: Record<string, string>) =>
    startNode(
      path.join(REPO_ROOT, 'api/main.ts'),
      {
        ...common,
        NODE_ENV: 'production',
        // plain HTTP on loopback: production refuses insecure cookies unless told twice (issue 21)
        AUTH_COOKIE_SECURE: 'false',
        AUTH_COOKIE_ALLOW_INSECURE: 'true',
        FRONTEND_URL: FRONTEND_ORIGIN, // required in production; the origin the bench's requests send
        JWT_SECRET: jwtSecret,
        HOST: '127.0.0.1',
        PORT: String(port),
        PUBLIC_API_URL: url,
        S3_SOURCE_BUCKET: sources,
        S3_MEDIA_BUCKET: media,
        AMQP_EXCHANGE: `bench.video-status.${suffix}`,
        AMQP_QUEUE: `bench.catalog.${suffix}`,
        VIDEO_NAMESPACE: namespace,
        RATE_LIMIT_LOGIN_MAX: '1000000',
        LOG_LEVEL: 'info',
        METRICS_PORT: '0', // no metrics server unless a bench asks (the default port would collide)
        ...env,
        ...extra,
      },
      {
        logFile: path.join(BENCH_CACHE, 'logs', `api-${label}.log`),
        // BENCH_PROFILE=1: a V8 CPU profile of the API, written when it stops (summarised by profile.ts)
        ...(process.env.BENCH_PROFILE
          ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir(label)}`] }
          : {}),
      },
    );
  let child = spawnApi({});
  try {
    await waitHttpOk(`${url}/readyz`, child);
  } catch (err) {
    await child.stop();
    throw err;
  }
  const cookie = await login(url, email, password);
  const api: BenchApi = {
    url,
    child,
    db,
    s3,
    sources,
    media,
    namespace,
    email,
    password,
    cookie,
    bcryptCost,
    async restart(extra) {
      await child.stop();
      child = api.child = spawnApi(extra);
      await waitHttpOk(`${url}/readyz`, child);
      api.cookie = await login(url, email, password);
    },
    async stop() {
      await child.stop();
      await db.drop().catch(() => undefined);
      await kc
        .makeApiClient(k8s.CoreV1Api)
        .deleteNamespace({ name: namespace })
        .catch(() => undefined);
    },
  };
  return api;
}
