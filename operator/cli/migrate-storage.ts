/**
 * Storage version migration of the Video CRD (what kube-storage-version-migrator does, for one
 * resource): every object is rewritten in the CRD's storage version, then the older versions are
 * dropped from the CRD's `status.storedVersions`, so a later release may stop serving them.
 *
 * The chart's post-upgrade hook Job runs it with the operator image (`node
 * dist/operator/cli/migrate-storage.js`), after `kubectl apply --server-side -f crds/` made v1beta1 the
 * storage version. Steps:
 *   1. read the CRD: its storage version must be the one this release speaks (VERSION), else stop with
 *      exit 1 naming the fix (the CRD was not upgraded: apply the chart's crds/ first);
 *   2. list the Videos of every namespace (pages of MIGRATE_PAGE_SIZE) and send each back unchanged
 *      (PUT with its resourceVersion): the API server decodes it and encodes it again in the storage
 *      version; an object already stored so is not written at all (same bytes). 409 Conflict → the
 *      object was written meanwhile (so in the storage version): re-read it and send it again, up to
 *      MIGRATE_CONFLICT_RETRIES times; 404 → deleted meanwhile, skipped;
 *   3. merge-patch the CRD's /status: storedVersions = [the storage version].
 * Idempotent (a second run rewrites nothing it changes and patches nothing), safe while the operator
 * and the API write Videos (every write after step 1 is in the storage version already).
 * Every namespace, whatever namespace the release watches: storedVersions is cluster-wide.
 *
 * Environment: KUBE_REQUEST_TIMEOUT_MS (15000), MIGRATE_PAGE_SIZE (500), MIGRATE_CONFLICT_RETRIES (5),
 * LOG_LEVEL (info).
 */
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { loadConfigOrExit, loggingSchema, z } from '../../common/config/index.js';
import { loadKubeConfig } from '../../common/kube/config.js';
import { createLogger } from '../../common/logging/index.js';
import { CRD_NAME, GROUP, PLURAL, VERSION } from '../../common/video/index.js';

export const migrateStorageSchema = loggingSchema.extend({
  KUBE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  MIGRATE_PAGE_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  MIGRATE_CONFLICT_RETRIES: z.coerce.number().int().min(0).max(100).default(5),
  /** The storage version the CRD must have; empty = whatever it has (tests). */
  MIGRATE_EXPECT_VERSION: z.string().default(VERSION),
});
export type MigrateStorageConfig = z.infer<typeof migrateStorageSchema>;

/** Which custom resource to migrate (the Video by default; tests use a copy under another group). */
export interface MigrateTarget {
  crdName: string;
  group: string;
  plural: string;
}
export const VIDEO_TARGET: MigrateTarget = { crdName: CRD_NAME, group: GROUP, plural: PLURAL };

export interface MigrateOptions {
  target?: MigrateTarget;
  /** Refuse unless the CRD stores this version (default: no check). */
  expectVersion?: string;
  pageSize?: number;
  conflictRetries?: number;
  log?: (line: string, fields?: Record<string, unknown>) => void;
  /** Called before each object is sent back (tests: a concurrent writer at the worst moment). */
  beforeRewrite?: (obj: { metadata?: { name?: string; namespace?: string } }) => Promise<void>;
}

export interface MigrateResult {
  storageVersion: string;
  /** Objects sent back (each written once in the storage version, or left as it was already). */
  objects: number;
  /** Deleted between the list and their update. */
  gone: number;
  /** 409s met (each followed by a re-read and a new attempt). */
  conflicts: number;
  storedVersionsBefore: string[];
  storedVersions: string[];
}

const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const codeOf = (err: unknown) => (err as { code?: number })?.code;

type Obj = { metadata?: { name?: string; namespace?: string; resourceVersion?: string } };

export async function migrateStorage(kc: k8s.KubeConfig, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const target = opts.target ?? VIDEO_TARGET;
  const log = opts.log ?? (() => undefined);
  const apiext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);

  const crd = await apiext.readCustomResourceDefinition({ name: target.crdName });
  const storageVersion = crd.spec.versions.find((v) => v.storage)?.name;
  if (!storageVersion) throw new Error(`CRD ${target.crdName} has no storage version`);
  if (opts.expectVersion && storageVersion !== opts.expectVersion)
    throw new Error(
      `CRD ${target.crdName} stores ${storageVersion}, this release needs ${opts.expectVersion}: ` +
        `apply the chart's CRD first (kubectl apply --server-side -f <chart>/crds/), then upgrade again`,
    );
  const storedVersionsBefore = [...(crd.status?.storedVersions ?? [])];
  const result: MigrateResult = {
    storageVersion,
    objects: 0,
    gone: 0,
    conflicts: 0,
    storedVersionsBefore,
    storedVersions: storedVersionsBefore,
  };
  const where = { group: target.group, version: storageVersion, plural: target.plural };
  const retries = opts.conflictRetries ?? 5;

  const rewrite = async (first: Obj) => {
    let obj = first;
    const name = obj.metadata?.name ?? '';
    const namespace = obj.metadata?.namespace ?? '';
    for (let attempt = 0; ; attempt++) {
      try {
        await custom.replaceNamespacedCustomObject({ ...where, namespace, name, body: obj });
        result.objects++;
        return;
      } catch (err) {
        if (codeOf(err) === 404) {
          result.gone++;
          return;
        }
        if (codeOf(err) !== 409 || attempt >= retries) throw err;
        result.conflicts++;
        try {
          obj = (await custom.getNamespacedCustomObject({ ...where, namespace, name })) as Obj;
        } catch (e) {
          if (codeOf(e) === 404) {
            result.gone++;
            return;
          }
          throw e;
        }
      }
    }
  };

  let cont: string | undefined;
  do {
    const page = (await custom.listClusterCustomObject({
      ...where,
      limit: opts.pageSize ?? 500,
      ...(cont ? { _continue: cont } : {}),
    })) as { items?: Obj[]; metadata?: { _continue?: string; continue?: string } };
    for (const item of page.items ?? []) {
      await opts.beforeRewrite?.(item);
      await rewrite(item);
    }
    cont = page.metadata?.continue ?? page.metadata?._continue ?? undefined;
    log('page rewritten', { objects: result.objects, gone: result.gone, conflicts: result.conflicts });
  } while (cont);

  if (storedVersionsBefore.length !== 1 || storedVersionsBefore[0] !== storageVersion) {
    const patched = await apiext.patchCustomResourceDefinitionStatus(
      { name: target.crdName, body: { status: { storedVersions: [storageVersion] } } },
      MERGE,
    );
    result.storedVersions = [...(patched.status?.storedVersions ?? [])];
  }
  log('storage version migration done', { ...result });
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cfg = loadConfigOrExit(migrateStorageSchema);
  const logger = createLogger('migrate-storage', { level: cfg.LOG_LEVEL });
  const kc = loadKubeConfig({ timeoutMs: cfg.KUBE_REQUEST_TIMEOUT_MS });
  migrateStorage(kc, {
    expectVersion: cfg.MIGRATE_EXPECT_VERSION,
    pageSize: cfg.MIGRATE_PAGE_SIZE,
    conflictRetries: cfg.MIGRATE_CONFLICT_RETRIES,
    log: (line, fields) => logger.info(fields ?? {}, line),
  }).then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err: String((err as Error)?.message ?? err) }, 'storage version migration failed');
      process.exit(1);
    },
  );
}
