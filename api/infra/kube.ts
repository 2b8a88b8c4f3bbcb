/**
 * The Video resources the API creates, reads, lists and deletes (@kubernetes/client-node 1.x
 * CustomObjectsApi: one object parameter per call, errors are ApiException with `.code`). One
 * namespace, from configuration. The API never writes a status: that is the operator's.
 */
import fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATIONS, API_VERSION, GROUP, PLURAL, VERSION, type Video } from '../../common/video/index.js';

const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** VIDEO_NAMESPACE, else the Pod's own namespace, else `default`. */
export function resolveNamespace(configured: string): string {
  if (configured) return configured;
  try {
    const ns = fs.readFileSync(IN_CLUSTER_NAMESPACE, 'utf8').trim();
    if (ns) return ns;
  } catch {
    // not in a cluster
  }
  return 'default';
}

export function kubeStatus(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

/** The API server's message of a failed call (Status.message), for logs and 4xx answers. */
export function kubeMessage(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body = err.body as unknown;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      if (parsed?.message) return parsed.message;
    } catch {
      // not JSON
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export interface VideoClient {
  readonly namespace: string;
  create(
    body: Omit<Video, 'apiVersion' | 'kind'> & Partial<Pick<Video, 'apiVersion' | 'kind'>>,
  ): Promise<Video>;
  get(name: string): Promise<Video | undefined>;
  list(): Promise<Video[]>;
  /** Deletes by name (only the object with `uid` when given); false when it was already gone. */
  delete(name: string, uid?: string): Promise<boolean>;
  /**
   * Asks the operator to retry a failed Video: sets the retry annotation to its next value (only on
   * the object with `uid`); the new value, or undefined when the Video is gone.
   */
  requestRetry(name: string, uid: string): Promise<string | undefined>;
}

export class KubeVideos implements VideoClient {
  private readonly api: k8s.CustomObjectsApi;

  constructor(
    kc: k8s.KubeConfig,
    readonly namespace: string,
    private readonly pageSize = 500,
  ) {
    this.api = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  private base() {
    return { group: GROUP, version: VERSION, namespace: this.namespace, plural: PLURAL };
  }

  async create(body: Omit<Video, 'apiVersion' | 'kind'>): Promise<Video> {
    return (await this.api.createNamespacedCustomObject({
      ...this.base(),
      body: { apiVersion: API_VERSION, kind: 'Video', ...body },
      fieldManager: 'videoflix-api',
    })) as Video;
  }

  async get(name: string): Promise<Video | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...this.base(), name })) as Video;
    } catch (err) {
      if (kubeStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async list(): Promise<Video[]> {
    const out: Video[] = [];
    let cont: string | undefined;
    do {
      const page = (await this.api.listNamespacedCustomObject({
        ...this.base(),
        limit: this.pageSize,
        ...(cont ? { _continue: cont } : {}),
      })) as { items?: Video[]; metadata?: { _continue?: string; continue?: string } };
      out.push(...(page.items ?? []));
      cont = page.metadata?._continue ?? page.metadata?.continue;
    } while (cont);
    return out;
  }

  async requestRetry(name: string, uid: string): Promise<string | undefined> {
    const current = await this.get(name);
    if (!current || current.metadata.uid !== uid) return undefined;
    const previous = Number.parseInt(current.metadata.annotations?.[ANNOTATIONS.retry] ?? '0', 10);
    const next = String((Number.isFinite(previous) ? previous : 0) + 1);
    try {
      // resourceVersion: a concurrent change (another admin's retry) is a 409, not a lost update
      await this.api.patchNamespacedCustomObject(
        {
          ...this.base(),
          name,
          body: {
            metadata: {
              uid,
              resourceVersion: current.metadata.resourceVersion,
              annotations: { [ANNOTATIONS.retry]: next },
            },
          },
          fieldManager: 'videoflix-api',
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (kubeStatus(err) === 404) return undefined;
      throw err;
    }
    return next;
  }

  async delete(name: string, uid?: string): Promise<boolean> {
    try {
      await this.api.deleteNamespacedCustomObject({
        ...this.base(),
        name,
        body: { propagationPolicy: 'Background', ...(uid ? { preconditions: { uid } } : {}) },
      });
      return true;
    } catch (err) {
      // 404: gone already; 409: a precondition failed (another object now has this name)
      if (kubeStatus(err) === 404 || kubeStatus(err) === 409) return false;
      throw err;
    }
  }
}
