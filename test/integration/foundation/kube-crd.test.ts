/**
 * The real kube-apiserver serves a CRD applied through @kubernetes/client-node and enforces its
 * OpenAPI schema (types, required fields, enums, a CEL rule) and prunes unknown fields.
 * A test CRD of our own (random group plural), not the product's.
 */
import crypto from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { apiStatus, createTestNamespace, deleteNamespace, kubeConfig } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';

const GROUP = 'foundation.test.videoflix.io';
const suffix = crypto.randomBytes(3).toString('hex');
const PLURAL = `gadgets${suffix}`;
const KIND = `Gadget${suffix}`;
const CRD_NAME = `${PLURAL}.${GROUP}`;

const crd: k8s.V1CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: CRD_NAME },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: PLURAL, singular: `gadget${suffix}`, kind: KIND },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size', 'color'],
                properties: {
                  size: { type: 'integer', minimum: 1 },
                  maxSize: { type: 'integer', minimum: 1, _default: 10 },
                  color: { type: 'string', _enum: ['red', 'green', 'blue'] },
                },
                // typed client-node models: `_enum`, `_default`, `x_kubernetes_validations` (the serializer maps
                // them to enum/default/x-kubernetes-validations and silently DROPS the wire names)
                x_kubernetes_validations: [
                  { rule: 'self.size <= self.maxSize', message: 'size must not exceed maxSize' },
                ],
              },
              status: { type: 'object', properties: { phase: { type: 'string' } } },
            },
          },
        },
      },
    ],
  },
};

describe('foundation: CRDs on the real kube-apiserver', function () {
  const kc = kubeConfig();
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  let namespace = '';

  const create = (spec: Record<string, unknown>, name: string) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace,
      plural: PLURAL,
      body: { apiVersion: `${GROUP}/v1`, kind: KIND, metadata: { name }, spec },
    }) as Promise<{ metadata: { name: string; uid: string }; spec: Record<string, unknown> }>;

  /** Creates an object that must be refused; returns the API server's message. */
  const refused = async (spec: Record<string, unknown>, name: string): Promise<string> => {
    try {
      await create(spec, name);
    } catch (err) {
      expect(apiStatus(err), `status of the refusal of ${JSON.stringify(spec)}`).to.equal(422);
      const body = (err as k8s.ApiException<unknown>).body;
      return (JSON.parse(String(body)) as { message: string }).message;
    }
    return expect.fail(`the API server accepted ${JSON.stringify(spec)}`);
  };

  before(async function () {
    namespace = await createTestNamespace(kc, 'foundation-crd', { waitForServiceAccount: false });
    await ext.createCustomResourceDefinition({ body: crd });
    await waitFor(
      async () => {
        const got = await ext.readCustomResourceDefinition({ name: CRD_NAME });
        return got.status?.conditions?.find((c) => c.type === 'Established' && c.status === 'True');
      },
      { timeoutMs: 20_000, what: `CRD ${CRD_NAME} Established` },
    );
  });

  after(async function () {
    if (namespace) await deleteNamespace(kc, namespace);
    await ext.deleteCustomResourceDefinition({ name: CRD_NAME }).catch((err: unknown) => {
      if (apiStatus(err) !== 404) throw err;
    });
  });

  it('serves the new resource in discovery', async function () {
    // the discovery document of the group lists the plural once the CRD is established
    const list = await waitFor(
      async () => {
        const res = await custom.listNamespacedCustomObject({
          group: GROUP,
          version: 'v1',
          namespace,
          plural: PLURAL,
        });
        return res as { kind: string; items: unknown[] };
      },
      { timeoutMs: 10_000, what: `list of ${PLURAL}` },
    );
    expect(list.kind).to.equal(`${KIND}List`);
    expect(list.items).to.deep.equal([]);
  });

  it('stores a valid object with defaults applied and unknown fields pruned', async function () {
    const made = await create({ size: 3, color: 'green', unknownField: 'dropped' }, 'ok');
    expect(made.metadata.uid).to.match(/^[0-9a-f-]{36}$/);
    expect(made.spec).to.deep.equal({ size: 3, maxSize: 10, color: 'green' });
    const read = (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace,
      plural: PLURAL,
      name: 'ok',
    })) as typeof made;
    expect(read.metadata.uid).to.equal(made.metadata.uid);
    expect(read.spec).to.deep.equal({ size: 3, maxSize: 10, color: 'green' });
  });

  it('refuses an object with a value outside the enum', async function () {
    expect(await refused({ size: 1, color: 'purple' }, 'bad-enum')).to.match(
      /spec\.color.*Unsupported value: "purple"/,
    );
  });

  it('refuses an object with a wrong type', async function () {
    expect(await refused({ size: 'big', color: 'red' }, 'bad-type')).to.match(
      /spec\.size.*must be of type integer/,
    );
  });

  it('refuses an object without a required field', async function () {
    expect(await refused({ size: 1 }, 'bad-missing')).to.match(/spec\.color.*Required value/);
  });

  it('refuses an object that breaks the CEL rule', async function () {
    expect(await refused({ size: 20, maxSize: 5, color: 'red' }, 'bad-cel')).to.contain(
      'size must not exceed maxSize',
    );
  });

  it('kept none of the refused objects', async function () {
    const res = (await custom.listNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace,
      plural: PLURAL,
    })) as {
      items: Array<{ metadata: { name: string } }>;
    };
    expect(res.items.map((i) => i.metadata.name)).to.deep.equal(['ok']);
  });
});
