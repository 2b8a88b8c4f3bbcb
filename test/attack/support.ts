/**
 * The attack suite's client: raw HTTP requests (node:http, so paths reach the server exactly as written:
 * no dot-segment or percent-decoding normalisation by a URL parser) against the platform `make dev` runs
 * (test/support/platform.ts: the same platform the e2e tests use, never a second one), through the
 * ingress, or directly to the API Service through a port-forward where a test needs its own client
 * address (X-Forwarded-For, one trusted hop) so that the API's per-address sign-in limits do not mix
 * the attacks with each other. Every answer is counted; the root hook (hooks.ts) fails the run on any 5xx.
 */
import http from 'node:http';
import { randomInt } from 'node:crypto';
import {
  ensurePlatform,
  kubectl,
  NS,
  portForward,
  type Endpoints,
  type PortForward,
} from '../support/platform.js';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** name=value of every Set-Cookie. */
  cookies: Record<string, string>;
  ms: number;
}

export const stats = { requests: 0, serverErrors: [] as string[] };

let endpoints: Endpoints | undefined;
/** The platform's endpoints (brings it up with hack/dev.sh when it does not answer, as the e2e tests do). */
export async function platform(): Promise<Endpoints> {
  endpoints ??= await ensurePlatform();
  return endpoints;
}
export const ingress = () => endpoints!.API_URL.replace(/\/+$/, '');
/** A foreign origin: a page on another site making the browser send the request. */
export const EVIL = 'https://evil.example';

let direct: PortForward | undefined;
/** http://127.0.0.1:<port> of a port-forward to the API Service (started once, stopped by the root hook). */
export async function directBase(): Promise<string> {
  if (!direct) {
    const svc = kubectl(['get', 'svc', '-n', NS, '-l', 'app.kubernetes.io/component=api', '-o', 'name'])
      .trim()
      .split('\n')[0]!
      .replace(/^service\//, '');
    direct = await portForward(svc, 80);
  }
  return `http://127.0.0.1:${direct.port}`;
}
export async function stopDirect(): Promise<void> {
  await direct?.stop();
  direct = undefined;
}
/** An address of its own for one simulated client (X-Forwarded-For, which the API trusts one hop of). */
export const clientAddress = () => `10.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(1, 255)}`;

export interface CallOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Base URL; the ingress by default. */
  base?: string;
  /** Cookies to send (name → value). */
  cookies?: Record<string, string>;
  /** Send only part of the body, then drop the connection (a truncated upload). */
  truncateAt?: number;
}

/** One request, path sent verbatim. Resolves with the answer, or status 0 when the connection was dropped. */
export function call(method: string, rawPath: string, o: CallOptions = {}): Promise<Answer> {
  const base = new URL(o.base ?? ingress());
  const headers: Record<string, string> = { accept: 'application/json', ...o.headers };
  if (o.cookies && Object.keys(o.cookies).length)
    headers.cookie = Object.entries(o.cookies)
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
  if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method, path: rawPath, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          stats.requests++;
          if (status >= 500) stats.serverErrors.push(`${method} ${rawPath} → ${status}`);
          const cookies: Record<string, string> = {};
          for (const c of res.headers['set-cookie'] ?? []) {
            const [pair] = c.split(';');
            const i = pair!.indexOf('=');
            if (i > 0) cookies[pair!.slice(0, i).trim()] = pair!.slice(i + 1).trim();
          }
          resolve({
            status,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            cookies,
            ms: performance.now() - t0,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (o.truncateAt !== undefined) {
        stats.requests++;
        resolve({ status: 0, headers: {}, text: err.message, cookies: {}, ms: performance.now() - t0 });
      } else reject(err);
    });
    if (body && o.truncateAt !== undefined) {
      req.write(body.subarray(0, o.truncateAt), () => setImmediate(() => req.destroy()));
      return;
    }
    req.end(body);
  });
}

/** JSON POST as the frontend sends it (its own origin unless told otherwise). */
export function postJson(
  rawPath: string,
  data: unknown,
  o: CallOptions & { origin?: string } = {},
): Promise<Answer> {
  const base = o.base ?? ingress();
  return call('POST', rawPath, {
    ...o,
    headers: { 'content-type': 'application/json', origin: o.origin ?? new URL(base).origin, ...o.headers },
    body: JSON.stringify(data),
  });
}

export interface Session {
  access: string;
  refresh: string;
  cookies: Record<string, string>;
}
/**
 * Signs in directly at the API Service as a client of its own (so the sign-in limit per address is not
 * spent by the suite); the cookies work through the ingress as well.
 */
export async function signIn(email: string, password: string): Promise<Session> {
  const base = await directBase();
  const r = await postJson(
    '/api/login/',
    { email, password },
    { base, headers: { 'x-forwarded-for': clientAddress() } },
  );
  if (r.status !== 200) throw new Error(`login as ${email}: ${r.status} ${r.text}`);
  const access = r.cookies.access_token;
  const refresh = r.cookies.refresh_token;
  if (!access || !refresh) throw new Error(`login as ${email}: no cookies in ${JSON.stringify(r.cookies)}`);
  return { access, refresh, cookies: { access_token: access, refresh_token: refresh } };
}

/** The admin account of the platform (hack/dev.sh's ADMIN_EMAIL / ADMIN_PASSWORD). */
export async function adminSession(): Promise<Session> {
  const e = await platform();
  return signIn(e.ADMIN_EMAIL, e.ADMIN_PASSWORD);
}

/** A multipart/form-data body with the file last, as the admin upload expects. */
export function multipart(
  fields: Record<string, string>,
  file: { name: string; type: string; data: Buffer },
): { body: Buffer; contentType: string } {
  const boundary = `----attack${randomInt(1e9)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`,
    ),
    file.data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
