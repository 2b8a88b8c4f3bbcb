/**
 * The garbage collector only discovers resources when kube-controller-manager starts and then
 * every 30 s. restartControllerManager() makes it learn a CRD installed later at once: a ConfigMap
 * owned by a custom object is collected right after the owner is deleted.
 */
import crypto from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { isSharedHostEnv, restartControllerManager } from '../../support/hostenv.js';
import { apiStatus, createTestNamespace, deleteNamespace, kubeConfig } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';

const GROUP = 'foundation.test.videoflix.io';
const suffix = crypto.randomBytes(3).toString('hex');
const PLURAL = `owners${suffix}`;
const KIND = `Owner${suffix}`;
const CRD_NAME = `${PLURAL}.${GROUP}`;

describe('foundation: garbage collection of objects owned by a new custom resource', function () {
  const kc = kubeConfig();
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  let namespace = '';

  before(async function () {
    if (isSharedHostEnv()) this.skip(); // restarting its controller manager would disturb other runs
    namespace = await createTestNamespace(kc, 'foundation-gc', { waitForServiceAccount: false });
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: CRD_NAME },
        spec: {
          group: GROUP,
          scope: 'Namespaced',
          names: { plural: PLURAL, singular: `owner${suffix}`, kind: KIND },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    await waitFor(
      async () =>
        (await ext.readCustomResourceDefinition({ name: CRD_NAME })).status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        ),
      { timeoutMs: 20_000, what: `CRD ${CRD_NAME} Established` },
    );
  });

  after(async function () {
    if (namespace) await deleteNamespace(kc, namespace);
    await ext.deleteCustomResourceDefinition({ name: CRD_NAME }).catch((err: unknown) => {
      if (apiStatus(err) !== 404) throw err;
    });
  });

  it('collects a ConfigMap whose owner (a custom object) is deleted, after restartControllerManager()', async function () {
    const t0 = Date.now();
    await restartControllerManager();
    const restartMs = Date.now() - t0;
    const owner = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/v1`, kind: KIND, metadata: { name: 'parent' }, spec: {} },
    })) as { metadata: { uid: string } };
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name: 'child',
          ownerReferences: [
            {
              apiVersion: `${GROUP}/v1`,
              kind: KIND,
              name: 'parent',
              uid: owner.metadata.uid,
              controller: true,
            },
          ],
        },
        data: { k: 'v' },
      },
    });
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace,
      plural: PLURAL,
      name: 'parent',
    });
    await waitFor(
      async () => {
        try {
          const cm = await core.readNamespacedConfigMap({ name: 'child', namespace });
          throw new Error(
            `ConfigMap child still there, owners ${JSON.stringify(cm.metadata?.ownerReferences)}`,
          );
        } catch (err) {
          if (apiStatus(err) === 404) return true;
          throw err;
        }
      },
      { timeoutMs: 20_000, what: 'the garbage collector to delete ConfigMap child' },
    );
    expect(restartMs, 'restart of kube-controller-manager (ms)').to.be.below(30_000);
  });
});
