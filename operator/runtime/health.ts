/** /healthz (alive), /readyz (caches synced), /metrics on one small HTTP server. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { serveMetrics } from '../../common/metrics/index.js';

export interface HealthChecks {
  /** Liveness: false when the process should be restarted (e.g. an informer dead for too long). */
  healthy: () => { ok: boolean; detail?: string };
  /** Readiness: caches synced (a standby replica is ready too: it is warm and campaigning). */
  ready: () => { ok: boolean; detail?: string };
  registry: Registry;
}

export function createHealthServer(checks: HealthChecks): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    if (serveMetrics(checks.registry, req, res)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') {
      const r = checks.healthy();
      return reply(r.ok ? 200 : 503, `${r.ok ? 'ok' : 'unhealthy'}${r.detail ? `: ${r.detail}` : ''}\n`);
    }
    if (path === '/readyz') {
      const r = checks.ready();
      return reply(r.ok ? 200 : 503, `${r.ok ? 'ok' : 'not ready'}${r.detail ? `: ${r.detail}` : ''}\n`);
    }
    reply(404, 'not found\n');
  });
}

export function listen(server: Server, port: number, host = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}
