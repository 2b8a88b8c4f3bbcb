/**
 * The one answer to a Prometheus scrape: `GET|HEAD /metrics` renders a registry (prom-client's
 * `Registry`, or anything with the same two members) in the text exposition format. Used by the
 * operator's health server and by the API's separate metrics server (never the public app).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What a scrape needs of a prom-client Registry (structural: common does not depend on prom-client). */
export interface Scrapable {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** The default port of the API's metrics server (the OpenTelemetry Prometheus exporter's port). */
export const DEFAULT_METRICS_PORT = 9464;

/**
 * Answers a scrape when the request is `GET|HEAD /metrics` (query ignored) and returns true;
 * returns false for any other path so the caller can answer it.
 */
export function serveMetrics(registry: Scrapable, req: IncomingMessage, res: ServerResponse): boolean {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' });
    res.end('method not allowed\n');
    return true;
  }
  registry.metrics().then(
    (text) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
    },
  );
  return true;
}

/** An HTTP server that answers `/metrics` and 404 to everything else. */
export function createMetricsServer(registry: Scrapable): Server {
  return createServer((req, res) => {
    if (serveMetrics(registry, req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  });
}
