/** What the runtime needs of any Kubernetes object: its cache key, and a copy trimmed for caching. */

/** The least an informer needs of an object. */
export interface KubernetesObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/**
 * Drops what no controller reads but every cached object carries: `metadata.managedFields` (server-
 * side apply bookkeeping, often the largest part of a small object) and kubectl's
 * last-applied-configuration annotation (a second copy of the object).
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  const md = obj.metadata as (KubernetesObject['metadata'] & LargeMetadata) | undefined;
  if (md) {
    delete md.managedFields;
    if (md.annotations && LAST_APPLIED in md.annotations) {
      const { [LAST_APPLIED]: _dropped, ...rest } = md.annotations;
      md.annotations = rest;
    }
  }
  return obj;
}
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
interface LargeMetadata {
  managedFields?: unknown;
  annotations?: Record<string, string>;
}

export const objectKey = (o: KubernetesObject) =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? '');
