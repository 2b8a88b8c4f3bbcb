/**
 * Prepares the object store for the platform (the chart's bucket hook Job runs it with the API image):
 * creates the source and media buckets when missing, and, when the components have their own S3
 * identities, creates them in versitygw (S3_CREATE_USERS=versitygw: its admin API) and sets each
 * bucket's policy from common/grants (S3_BUCKET_POLICIES=true). Idempotent: every upgrade runs it again.
 *   S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY   an identity that may create buckets, users and policies
 *   S3_SOURCE_BUCKET, S3_MEDIA_BUCKET                       the two buckets
 *   S3_CREATE_BUCKETS (true), S3_CREATE_USERS (none|versitygw), S3_BUCKET_POLICIES (false)
 *   S3_<API|OPERATOR|TRANSCODER>_ACCESS_KEY / _SECRET_KEY   the components' identities (policies, users)
 */
import { fileURLToPath } from 'node:url';
import { bucketPolicies, COMPONENTS, type Component } from '../../common/grants/index.js';
import { env, loadConfigOrExit, storageSchema, z } from '../../common/config/index.js';
import { createS3Client, describeStorageError, withConnectRetry } from '../../common/storage/index.js';
import { ensureVersitygwUser } from '../../common/storage/versitygw-admin.js';

export const setupStorageSchema = storageSchema.extend({
  S3_CREATE_BUCKETS: env.bool(true),
  S3_CREATE_USERS: z.enum(['none', 'versitygw']).default('none'),
  S3_BUCKET_POLICIES: env.bool(false),
  S3_API_ACCESS_KEY: z.string().optional(),
  S3_API_SECRET_KEY: z.string().optional(),
  S3_OPERATOR_ACCESS_KEY: z.string().optional(),
  S3_OPERATOR_SECRET_KEY: z.string().optional(),
  S3_TRANSCODER_ACCESS_KEY: z.string().optional(),
  S3_TRANSCODER_SECRET_KEY: z.string().optional(),
});
export type SetupStorageConfig = z.infer<typeof setupStorageSchema>;

const envName = (c: Component) => c.toUpperCase() as 'API' | 'OPERATOR' | 'TRANSCODER';

/** The components' identities from the config; throws naming what is missing. */
export function componentIdentities(
  cfg: SetupStorageConfig,
): Record<Component, { access: string; secret: string }> {
  const out = {} as Record<Component, { access: string; secret: string }>;
  const missing: string[] = [];
  for (const c of COMPONENTS) {
    const access = cfg[`S3_${envName(c)}_ACCESS_KEY`];
    const secret = cfg[`S3_${envName(c)}_SECRET_KEY`];
    if (!access) missing.push(`S3_${envName(c)}_ACCESS_KEY`);
    if (!secret) missing.push(`S3_${envName(c)}_SECRET_KEY`);
    out[c] = { access: access ?? '', secret: secret ?? '' };
  }
  if (missing.length > 0) throw new Error(`per-component identities need ${missing.join(', ')}`);
  return out;
}

/** Buckets, users and policies; `log` gets one line per step. */
export async function setupStorage(cfg: SetupStorageConfig, log: (line: string) => void): Promise<void> {
  const client = createS3Client(cfg);
  if (cfg.S3_CREATE_BUCKETS) {
    for (const b of [cfg.S3_SOURCE_BUCKET, cfg.S3_MEDIA_BUCKET]) {
      // the hook Pod's first contact: a connection refused while the NetworkPolicy enforcer admits it is retried
      if (await withConnectRetry(() => client.bucketExists(b))) {
        log(`bucket ${b}: exists`);
        continue;
      }
      await client.makeBucket(b, cfg.S3_REGION);
      log(`bucket ${b}: created`);
    }
  }
  if (cfg.S3_CREATE_USERS === 'none' && !cfg.S3_BUCKET_POLICIES) return;
  const ids = componentIdentities(cfg);
  if (cfg.S3_CREATE_USERS === 'versitygw') {
    for (const c of COMPONENTS) {
      const done = await ensureVersitygwUser(cfg, { ...ids[c], role: 'user' });
      log(`user ${ids[c].access} (${c}): ${done}`);
    }
  }
  if (cfg.S3_BUCKET_POLICIES) {
    const keys = Object.fromEntries(COMPONENTS.map((c) => [c, ids[c].access])) as Record<Component, string>;
    const buckets = { sourceBucket: cfg.S3_SOURCE_BUCKET, mediaBucket: cfg.S3_MEDIA_BUCKET };
    for (const [bucket, policy] of bucketPolicies(buckets, keys)) {
      await client.setBucketPolicy(bucket, JSON.stringify(policy));
      log(`bucket ${bucket}: policy set (${policy.Statement.map((s) => s.Sid).join(', ')})`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cfg = loadConfigOrExit(setupStorageSchema);
  setupStorage(cfg, (line) => process.stdout.write(`${line}\n`)).catch((err: unknown) => {
    process.stderr.write(`setup-storage: ${describeStorageError(err)}\n`);
    process.exit(1);
  });
}
