/**
 * versitygw's admin API (v1.8.0, internal IAM `--iam-dir`): create or update a user account. The admin
 * routes are served on the S3 port (no `--admin-port`) as PATCH /create-user and /update-user?access=,
 * an XML `Account` / `MutableProps` body, signed with SigV4 by the root (or an admin) account — what
 * `versitygw admin create-user` does. Roles: admin (everything), userplus (may create buckets), user
 * (only what bucket policies and ACLs grant).
 */
import { createHash } from 'node:crypto';
import { signV4 } from 'minio/dist/esm/signing.mjs';
import type { StorageSettings } from './index.js';

export type VersitygwRole = 'admin' | 'user' | 'userplus';

export interface VersitygwUser {
  access: string;
  secret: string;
  role: VersitygwRole;
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

async function adminCall(admin: StorageSettings, pathAndQuery: string, body: string): Promise<Response> {
  const url = new URL(pathAndQuery, admin.S3_ENDPOINT);
  const sha = createHash('sha256').update(body).digest('hex');
  const date = new Date();
  const amzDate = date.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': sha,
    'content-type': 'application/xml',
  };
  headers.authorization = signV4(
    { protocol: url.protocol, method: 'PATCH', path: url.pathname + url.search, headers },
    admin.S3_ACCESS_KEY,
    admin.S3_SECRET_KEY,
    admin.S3_REGION,
    date,
    sha,
  );
  const { host: _host, ...sent } = headers; // fetch sets Host itself (the same value)
  return fetch(url, { method: 'PATCH', headers: sent, body, signal: AbortSignal.timeout(30_000) });
}

/** An admin API answer that is not a success, with versitygw's error code. */
export class VersitygwAdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function check(res: Response, what: string): Promise<void> {
  if (res.ok) return;
  const text = await res.text();
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(res.status);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
  throw new VersitygwAdminError(res.status, code, `${what}: ${code}: ${message}`);
}

/**
 * Makes sure the user exists with this secret and role: creates it, or updates an existing one
 * (idempotent; a changed secret in the chart's Secret is applied on the next upgrade).
 */
export async function ensureVersitygwUser(
  admin: StorageSettings,
  user: VersitygwUser,
): Promise<'created' | 'updated'> {
  const account =
    `<Account><Access>${xmlEscape(user.access)}</Access><Secret>${xmlEscape(user.secret)}</Secret>` +
    `<Role>${user.role}</Role><UserID>0</UserID><GroupID>0</GroupID><ProjectID>0</ProjectID></Account>`;
  const res = await adminCall(admin, '/create-user', account);
  if (res.status !== 409) {
    await check(res, `create-user ${user.access}`);
    return 'created';
  }
  await res.body?.cancel();
  const props = `<MutableProps><Secret>${xmlEscape(user.secret)}</Secret><Role>${user.role}</Role></MutableProps>`;
  await check(
    await adminCall(admin, `/update-user?access=${encodeURIComponent(user.access)}`, props),
    `update-user ${user.access}`,
  );
  return 'updated';
}
