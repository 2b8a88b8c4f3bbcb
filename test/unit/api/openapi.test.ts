/**
 * The OpenAPI document is generated from zod (api/openapi/build.ts) and cannot drift from the app: every
 * route createApp mounts (accounts, probes, the catalog's public and admin routers) is in it, with its
 * method, and it documents nothing that is not mounted. The app is built with stand-ins and never listens.
 */
import { expect } from 'chai';
import type { Router } from 'express';
import { Sequelize } from 'sequelize';
import { loadConfig } from '../../../common/config/index.js';
import { createLogger } from '../../../common/logging/index.js';
import { createApp } from '../../../api/app.js';
import { createCatalog } from '../../../api/catalog/index.js';
import { apiSchema, catalogSchema } from '../../../api/config.js';
import type { VideoClient } from '../../../api/infra/kube.js';
import type { ObjectStorage } from '../../../api/infra/storage.js';
import type { Mailer } from '../../../api/infra/mailer.js';
import { initModels } from '../../../api/models/index.js';
import { buildOpenApi } from '../../../api/routes/docs/openapi.js';

/** Routes the document leaves out on purpose: the admin console's page and files (a UI, not the API). */
const UNDOCUMENTED = /^(GET|HEAD) \/admin(\/|$)/;

interface Layer {
  rawPath?: string | string[];
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle: Router & { stack?: Layer[] };
}

/** Every `METHOD /path` of an Express 5 app, mounted paths joined, `:param` written `{param}`, no trailing slash. */
function mountedRoutes(stack: Layer[], prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    const here = (p: string | string[] | undefined) =>
      `${prefix}${typeof p === 'string' && p !== '/' ? p : ''}`;
    if (layer.route) {
      const path = here(layer.route.path)
        .replace(/:(\w+)/g, '{$1}')
        .replace(/(.)\/$/, '$1');
      for (const [method, on] of Object.entries(layer.route.methods))
        if (on && method !== '_all') out.push(`${method.toUpperCase()} ${path}`);
    } else if (layer.handle.stack) {
      out.push(...mountedRoutes(layer.handle.stack, here(layer.rawPath)));
    }
  }
  return out;
}

function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).map((m) => `${m.toUpperCase()} ${path.replace(/(.)\/$/, '$1')}`),
  );
}

function buildApp() {
  const env = {
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:9/none',
    JWT_SECRET: 'unit-test-secret-0123456789-abcdefghijklmnopqrstuv',
    FRONTEND_URL: 'http://frontend.test:4200',
    S3_ENDPOINT: 'http://127.0.0.1:9',
    S3_ACCESS_KEY: 'k',
    S3_SECRET_KEY: 's',
    AMQP_URL: 'amqp://127.0.0.1:9',
  };
  const config = loadConfig(apiSchema, env);
  const sequelize = new Sequelize(config.DATABASE_URL, { logging: false });
  const logger = createLogger('openapi-test', { level: 'silent' });
  const catalog = createCatalog({
    config: loadConfig(catalogSchema, env),
    publicApiUrl: config.PUBLIC_API_URL,
    secret: config.JWT_SECRET,
    sequelize,
    logger,
    kube: { namespace: 'ns' } as VideoClient,
    storage: {} as ObjectStorage,
  });
  const app = createApp({
    config,
    sequelize,
    models: initModels(sequelize),
    mailer: { close() {} } as unknown as Mailer,
    logger,
    routers: catalog.routers,
    openApiPaths: catalog.openApiPaths,
    routeTimeouts: catalog.routeTimeouts,
  });
  return { app, config, catalog, sequelize };
}

describe('api: the OpenAPI document (generated from zod)', function () {
  const { app, config, catalog, sequelize } = buildApp();
  after(() => sequelize.close());

  it('lists every route the app mounts, and no route it does not', async function () {
    const mounted = new Set(
      mountedRoutes((app as unknown as { router: { stack: Layer[] } }).router.stack).filter(
        (r) => !UNDOCUMENTED.test(r),
      ),
    );
    const doc = buildOpenApi({ serverUrl: config.PUBLIC_API_URL, extraPaths: catalog.openApiPaths }) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set(documentedRoutes(doc));
    expect(mounted.size, 'routes found in the app').to.be.greaterThan(20);
    expect(
      [...mounted].filter((r) => !documented.has(r)),
      'mounted but not documented',
    ).to.deep.equal([]);
    expect(
      [...documented].filter((r) => !mounted.has(r)),
      'documented but not mounted',
    ).to.deep.equal([]);
  });

  it('keeps the deviation notes and the request bodies the routes validate with', function () {
    const doc = buildOpenApi({ serverUrl: 'http://api.test', extraPaths: catalog.openApiPaths }) as {
      paths: Record<
        string,
        Record<string, { description?: string; requestBody?: unknown; responses: object }>
      >;
    };
    expect(doc.paths['/api/register/']!.post!.description).to.match(
      /Deviation from the original \(issue 21\)/,
    );
    expect(doc.paths['/api/token/refresh/']!.post!.description).to.match(/grace window/);
    const upload = JSON.stringify(doc.paths['/api/admin/videos/']!.post!.requestBody);
    expect(upload).to.include('"required":["title","file"]').and.include('"format":"binary"');
    expect(Object.keys(doc.paths['/api/admin/videos/{id}/retry/']!.post!.responses)).to.have.members([
      '202',
      '401',
      '403',
      '404',
      '409',
      '503',
    ]);
  });
});
