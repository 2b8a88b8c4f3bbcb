/**
 * Preloaded into a process under measurement (`node --import=./bench/support/count-requests.ts`):
 * counts its outgoing HTTP(S) requests through Node's `http.client.request.start` diagnostics
 * channel, by method and Kubernetes resource, and writes the counts to $BENCH_REQUEST_COUNT_FILE
 * every second and at exit. The program itself is not changed.
 */
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';

const file = process.env.BENCH_REQUEST_COUNT_FILE;
const counts: Record<string, number> = {};

/** "GET jobs", "POST jobs", "PATCH videos/status", "WATCH videos", ... */
function classify(method: string, p: string): string {
  const [pathname, query = ''] = p.split('?');
  const parts = (pathname ?? '').split('/').filter(Boolean);
  const nsAt = parts.indexOf('namespaces');
  let rest = nsAt >= 0 ? parts.slice(nsAt + 2) : parts.slice(parts[0] === 'api' ? 2 : 3);
  if (nsAt >= 0 && rest.length === 0) rest = ['namespaces'];
  const resource = rest[0] ?? pathname ?? '?';
  const sub = rest.length >= 3 ? `/${rest[2]}` : '';
  const verb =
    method === 'GET' && /(^|&)watch=(true|1)/.test(query)
      ? 'WATCH'
      : method === 'GET' && rest.length === 1
        ? 'LIST'
        : method;
  return `${verb} ${resource}${sub}`;
}

if (file) {
  diagnostics.subscribe('http.client.request.start', (msg) => {
    const req = (msg as { request: { method: string; path: string; host?: string } }).request;
    const key = classify(req.method, req.path);
    counts[key] = (counts[key] ?? 0) + 1;
  });
  const flush = () => {
    try {
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(counts));
      fs.renameSync(`${file}.tmp`, file);
    } catch {
      // best effort
    }
  };
  setInterval(flush, 1000).unref();
  process.on('exit', flush);
}
