/**
 * Benchmark 5 (issue 16): the catalog and sign-in, on the host tier with api/main.ts as a child.
 *
 * - GET /api/video/ with 10,000 Ready rows, 50 concurrent signed-in clients (autocannon, the
 *   access cookie), against GET /healthz on the same server (what the process does with no work);
 *   once per coding the list is kept in (Accept-Encoding identity, gzip, br; BENCH_CATALOG_ENCODINGS),
 *   with the bytes of one answer as sent.
 * - POST /api/login/ at the configured bcrypt cost (BCRYPT_COST, default 12), against
 *   bcrypt.compare alone (the API's own hasher, same hash, same concurrency) in this process.
 *
 * Two targets (BENCH_CATALOG_TARGET): `host` (default, above) and `kind` (issue 23's goal is on kind
 * through the ingress): the same rows put into the bundled PostgreSQL of the `make dev` platform with
 * psql in its Pod (namespace `bench-catalog`, deleted at the end), the list fetched through Traefik by 50
 * signed-in clients against /healthz through the same ingress, the API Pods' and Traefik's CPU per
 * request from their cgroups (support/kind.ts). Sign-in is measured on the host tier only.
 *   BENCH_DURATION=10 (seconds per load run), BENCH_CATALOG_ROWS=10000, BENCH_CATALOG_TARGET=host|kind
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createPasswordHasher } from '../api/security/passwords.js';
import { login, profileDir, startApi } from './support/api.js';
import { summariseDir } from './support/profile.js';
import { BENCH_CACHE, hostTier, notRun, percentile, procCpuSeconds, report, say } from './support/lib.js';
import { cpuPerRequest, drained, load, type LoadResult } from './support/load.js';
import {
  ingressPods,
  kubectl,
  kubectlJson,
  NAMESPACE,
  platformEnv,
  podCpu,
  podsDrained,
} from './support/kind.js';

const BENCH = 'catalog';
const KIND_BENCH = 'catalog (kind)';
const ROWS = Number(process.env.BENCH_CATALOG_ROWS ?? 10_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ENCODINGS = (process.env.BENCH_CATALOG_ENCODINGS ?? 'identity,gzip,br').split(',').map((e) => e.trim());

/** The API's request log (bench/support/api.ts): one JSON line per request, `ms` to the last byte written. */
const API_LOG = path.join(BENCH_CACHE, 'logs', `api-${BENCH}.log`);
const logLines = () => fs.readFileSync(API_LOG, 'utf8').split('\n');

/** p50/p99 of the server's own time for the list's 200s logged from line `from` on (no client in it). */
function serverTimes(from: number): { p50: number; p99: number; n: number } {
  const ms = logLines()
    .slice(from)
    .flatMap((l) => {
      try {
        const r = JSON.parse(l) as { path?: string; status?: number; ms?: number };
        return r.path === '/api/video/' && r.status === 200 && typeof r.ms === 'number' ? [r.ms] : [];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: ms.length };
}

/** One answer over node:http, which neither decodes the body nor adds headers (fetch does both): its status
 * and its bytes as sent; `expect` (200) is the status it must have. */
function rawGet(
  url: string,
  headers: Record<string, string>,
  expect = 200,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    (url.startsWith('https:') ? https : http)
      .get(url, { headers }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () =>
          res.statusCode === expect
            ? resolve({ status: res.statusCode, bytes: n })
            : reject(new Error(`${url}: ${res.statusCode}, not ${expect}`)),
        );
      })
      .on('error', reject);
  });
}
const bodyBytes = async (url: string, headers: Record<string, string>) => (await rawGet(url, headers)).bytes;

/** The req/s and p99 rows of one list run against /healthz's, with its bytes and what else is known. */
function reportRate(
  bench: string,
  label: string,
  healthLabel: string,
  list: LoadResult,
  health: LoadResult,
  bytes: number,
  extra: string,
): void {
  report({
    bench,
    metric: `${label} req/s`,
    value: list.rps,
    unit: 'req/s',
    baseline: { label: healthLabel, value: health.rps },
    ratio: list.rps / health.rps,
    note: `p50 ${list.p50} ms, p99 ${list.p99} ms (healthz p50 ${health.p50}, p99 ${health.p99}); ${(bytes / 1024).toFixed(0)} KiB per answer, ${list.mbps.toFixed(1)} MB/s; ${list.errors} errors; ${extra}`,
  });
  report({
    bench,
    metric: `${label} p99 latency`,
    value: list.p99,
    unit: 'ms',
    baseline: { label: '/healthz p99', value: health.p99 },
    ratio: list.p99 / health.p99,
    note: `p50 ${list.p50} ms; issue 23's goal p99 < 100 ms`,
  });
}

/** SQL putting ROWS Ready catalog rows of an ordinary size into `videos`, in catalog namespace `ns`. */
function seedRows(ns: string): string {
  return `
      INSERT INTO videos (title, description, category, namespace, name, uid, phase, renditions,
                          master_playlist_key, thumbnail_key, duration_seconds, created_at, updated_at)
      SELECT 'Bench video ' || i, 'A benchmark row with a description of ordinary length, ' || i,
             (ARRAY['Drama','Documentary','Comedy','Action'])[1 + i % 4], '${ns}', 'bench-' || i,
             gen_random_uuid(), 'Ready', '[]'::jsonb, 'x/master.m3u8', 'x/thumbnail.jpg', 30,
             now() - (i || ' seconds')::interval, now()
      FROM generate_series(1, ${ROWS}) AS i`;
}

async function hostMain() {
  const { release } = await hostTier();
  const api = await startApi('catalog');
  try {
    await api.db.sequelize.query(seedRows('bench'));
    const first = await fetch(`${api.url}/api/video/`, { headers: { cookie: api.cookie } });
    const body = await first.text();
    const items = (JSON.parse(body) as unknown[]).length;
    say(`  GET /api/video/ answers ${first.status} with ${items} items`);

    const health = await load({
      url: `${api.url}/healthz`,
      connections: 50,
      durationSec: DURATION,
      headers: { cookie: api.cookie },
      serverPid: api.child.pid,
    });
    await drained(api.child.pid);
    const [healthCpu] = await cpuPerRequest([`${api.url}/healthz`], [api.child.pid], {
      n: 200,
      concurrency: 4,
    });
    // each coding the list is kept in (issue 23): identity (what the bench measured before), gzip, br
    for (const encoding of ENCODINGS) {
      const headers = { cookie: api.cookie, 'accept-encoding': encoding };
      const bytes = await bodyBytes(`${api.url}/api/video/`, headers);
      const logFrom = logLines().length - 1;
      const list = await load({
        url: `${api.url}/api/video/`,
        connections: 50,
        durationSec: DURATION,
        headers,
        serverPid: api.child.pid,
      });
      await drained(api.child.pid);
      const server = serverTimes(logFrom);
      const [listCpu] = await cpuPerRequest([`${api.url}/api/video/`], [api.child.pid], {
        n: encoding === 'identity' ? 40 : 200,
        concurrency: 2,
        headers,
      });
      await drained(api.child.pid);
      const label = `GET /api/video/ (${items} rows, 50 clients, ${encoding})`;
      reportRate(
        BENCH,
        label,
        '/healthz same server',
        list,
        health,
        bytes,
        `API CPU ${listCpu!.toFixed(2)} ms/req closed-loop (healthz ${healthCpu!.toFixed(2)})`,
      );
      report({
        bench: BENCH,
        metric: `${label} API CPU per request`,
        value: listCpu!,
        unit: 'ms',
        baseline: { label: '/healthz', value: healthCpu! },
        ratio: listCpu! / healthCpu!,
        note: 'closed loop, all requests complete before CPU is read again',
      });
      // what the API itself took (request → last byte written, its request log): the client, autocannon in
      // this process, is not in it; on a loaded 2-core machine it can be what limits req/s
      report({
        bench: BENCH,
        metric: `${label} p99 in the API (its request log)`,
        value: server.p99,
        unit: 'ms',
        note: `p50 ${server.p50} ms over ${server.n} requests`,
      });
      report({
        bench: BENCH,
        metric: `${label} body bytes`,
        value: bytes / 1024,
        unit: 'KiB',
        baseline: { label: 'identity (JSON)', value: Buffer.byteLength(body) / 1024 },
        ratio: bytes / Buffer.byteLength(body),
      });
    }

    // Sign-in throughput at the configured cost vs the hash comparison alone: a closed loop of
    // LOGINS sign-ins (CONC at a time, as many as libuv's threads that run bcrypt), all completed,
    // so that a second-long bcrypt under load is not cut off by a timed window.
    await drained(api.child.pid);
    const LOGINS = Number(process.env.BENCH_LOGINS ?? 16);
    const CONC = 4;
    const closedLoop = async (one: () => Promise<void>) => {
      let next = 0;
      const latencies: number[] = [];
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONC }, async () => {
          while (next++ < LOGINS) {
            const t = performance.now();
            await one();
            latencies.push(performance.now() - t);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      return {
        rate: LOGINS / ((performance.now() - t0) / 1000),
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    };
    const cpu0 = procCpuSeconds(api.child.pid);
    const viaApi = await closedLoop(async () => {
      await login(api.url, api.email, api.password);
    });
    const cpuPerLogin = ((procCpuSeconds(api.child.pid) - cpu0) * 1000) / LOGINS;
    const [stored] = (await api.db.sequelize.query('SELECT password_hash FROM users WHERE email = :email', {
      replacements: { email: api.email },
    })) as unknown as [Array<{ password_hash: string }>];
    const hash = stored[0]!.password_hash;
    const hasher = createPasswordHasher(api.bcryptCost);
    const alone = await closedLoop(async () => {
      if (!(await hasher.verify(api.password, hash))) throw new Error('bcrypt baseline: wrong hash');
    });
    report({
      bench: BENCH,
      metric: `POST /api/login/ (bcrypt cost ${api.bcryptCost}) logins/s`,
      value: viaApi.rate,
      unit: '/s',
      baseline: { label: 'bcrypt.compare alone', value: alone.rate },
      ratio: viaApi.rate / alone.rate,
      note: `${LOGINS} sign-ins, ${CONC} at a time: p50 ${viaApi.p50.toFixed(0)} ms, p99 ${viaApi.p99.toFixed(0)} ms (compare alone p50 ${alone.p50.toFixed(0)} ms); API CPU ${cpuPerLogin.toFixed(0)} ms/login; libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads on ${os.cpus().length} cores`,
    });
  } finally {
    await api.stop();
    await release();
  }
  if (process.env.BENCH_PROFILE)
    say(`API CPU profile (BENCH_PROFILE=1):\n${summariseDir(profileDir('catalog'))}`);
}

/** The platform on kind: the list through the ingress (see the header). */
async function kindMain() {
  const p = platformEnv();
  if (!p) {
    notRun(KIND_BENCH, process.env.BENCH_PLATFORM_REASON || 'BENCH_API_URL / BENCH_KUBECONFIG not set');
    return;
  }
  const ns = 'bench-catalog';
  const pg = await kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(p.kubeconfig, [
    'get',
    'pods',
    '-n',
    NAMESPACE,
    '-l',
    'app.kubernetes.io/component=postgresql',
  ]);
  const pgPod = pg.items[0]?.metadata.name;
  if (!pgPod) {
    notRun(KIND_BENCH, 'no bundled PostgreSQL Pod on the platform (an external database is not seeded)');
    return;
  }
  const psql = (sql: string) =>
    kubectl(
      p.kubeconfig,
      [
        'exec',
        '-i',
        '-n',
        NAMESPACE,
        pgPod,
        '--',
        'sh',
        '-c',
        'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d "$POSTGRES_DB"',
      ],
      sql,
    );
  const origin = new URL(p.apiUrl).origin;
  const cookie = await login(p.apiUrl, p.email, p.password, origin);
  const listUrl = `${p.apiUrl}/api/video/`;
  await psql(`DELETE FROM videos WHERE namespace = '${ns}';${seedRows(ns)};`);
  try {
    // the API's change feed (LISTEN/NOTIFY) invalidates its kept list; wait until every replica answers it
    let items = 0;
    for (let i = 0; i < 60 && items < ROWS; i++) {
      const body = (await (await fetch(listUrl, { headers: { cookie } })).json()) as unknown[];
      items = body.length;
      if (items < ROWS) await new Promise((r) => setTimeout(r, 500));
    }
    const identityBytes = await bodyBytes(listUrl, { cookie, 'accept-encoding': 'identity' });
    say(
      `  GET /api/video/ through the ingress answers ${items} items (${(identityBytes / 1024).toFixed(0)} KiB as JSON)`,
    );
    const [apiCpu, ingressCpu] = await Promise.all([
      podCpu(p.kubeconfig, 'app.kubernetes.io/component=api'),
      ingressPods(p.kubeconfig),
    ]);
    say(`  CPU from the cgroups of ${[...apiCpu.pods, ...(ingressCpu?.pods ?? [])].join(', ')}`);
    const readAll = () => Promise.all([apiCpu.read(), ingressCpu ? ingressCpu.read() : Promise.resolve(NaN)]);
    const run = async (url: string, headers: Record<string, string>) => {
      await podsDrained(apiCpu.read);
      const c0 = await readAll();
      const own0 = process.cpuUsage();
      const r = await load({ url, connections: 50, durationSec: DURATION, headers });
      const own = process.cpuUsage(own0); // autocannon runs in this process: the client's own CPU
      await podsDrained(apiCpu.read); // answers still in flight belong to this run
      const c1 = await readAll();
      const per = (i: number) => (r.requests ? ((c1[i]! - c0[i]!) * 1000) / r.requests : NaN);
      const clientMs = r.requests ? (own.user + own.system) / 1000 / r.requests : NaN;
      return {
        ...r,
        apiMs: per(0),
        ingressMs: per(1),
        clientMs,
        clientCores: (own.user + own.system) / 1e6 / DURATION,
      };
    };
    const health = await run(`${p.apiUrl}/healthz`, { cookie });
    for (const encoding of ENCODINGS) {
      const headers = { cookie, 'accept-encoding': encoding };
      const bytes = await bodyBytes(listUrl, headers);
      const list = await run(listUrl, headers);
      const label = `GET /api/video/ via ingress (${items} rows, 50 clients, ${encoding})`;
      reportRate(
        KIND_BENCH,
        label,
        '/healthz via the same ingress',
        list,
        health,
        bytes,
        `the issue's "today": 238 req/s`,
      );
      report({
        bench: KIND_BENCH,
        metric: `${label} API Pods' CPU per request`,
        value: list.apiMs,
        unit: 'ms',
        baseline: { label: '/healthz', value: health.apiMs },
        ratio: list.apiMs / health.apiMs,
        note: `cgroups over the timed run; Traefik ${list.ingressMs.toFixed(2)} ms per request (healthz ${health.ingressMs.toFixed(2)}); the load generator (autocannon, this process) ${list.clientMs.toFixed(2)} ms per request, ${list.clientCores.toFixed(2)} cores busy`,
      });
      report({
        bench: KIND_BENCH,
        metric: `${label} body bytes`,
        value: bytes / 1024,
        unit: 'KiB',
        baseline: { label: 'identity (JSON)', value: identityBytes / 1024 },
        ratio: bytes / identityBytes,
      });
    }
    // a browser's reload revalidates its copy (the list is sent with an ETag per coding): a 304, no body
    const etag = (await fetch(listUrl, { headers: { cookie, 'accept-encoding': 'br' } })).headers.get('etag');
    if (etag) {
      const headers = { cookie, 'accept-encoding': 'br', 'if-none-match': etag };
      // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request (the Fetch
      // standard), and a no-cache request is answered in full, as a browser's own revalidation is not
      await rawGet(listUrl, headers, 304);
      const reval = await run(listUrl, headers);
      report({
        bench: KIND_BENCH,
        metric: `GET /api/video/ via ingress (${items} rows, 50 clients, If-None-Match: 304) req/s`,
        value: reval.rps,
        unit: 'req/s',
        baseline: { label: '/healthz via the same ingress', value: health.rps },
        ratio: reval.rps / health.rps,
        note: `p50 ${reval.p50} ms, p99 ${reval.p99} ms; API ${reval.apiMs.toFixed(2)} ms, Traefik ${reval.ingressMs.toFixed(2)} ms, the load generator ${reval.clientMs.toFixed(2)} ms CPU per request; ${reval.requests} answered (each checked 304 once before the run)`,
      });
    }
  } finally {
    await psql(`DELETE FROM videos WHERE namespace = '${ns}';`);
  }
}

const main = () => (process.env.BENCH_CATALOG_TARGET === 'kind' ? kindMain() : hostMain());

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`catalog failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
