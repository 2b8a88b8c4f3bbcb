/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): self time by package (node_modules/<name>), by
 * project file, or by Node internals / GC, and the top functions. Used with BENCH_PROFILE=1.
 *   node --import=tsx bench/support/profile.ts <dir-or-file.cpuprofile>
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function bucketOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/V8)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node internals';
  const m = /\/work\/[^/]+\/(.*)$/.exec(url.replace(/^file:\/\//, ''));
  return m ? m[1]! : url;
}

export function summarise(file: string, top = 12): string {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const buckets = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    const b = bucketOf(f.url, f.functionName);
    buckets.set(b, (buckets.get(b) ?? 0) + t);
    const key = `${f.functionName || '(anonymous)'} ${b}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + t);
  }
  const busy = [...buckets.values()].reduce((a, b) => a + b, 0);
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1)}%`;
  const lines = [
    `${path.basename(file)}: ${(busy / 1e6).toFixed(1)} s busy of ${(total / 1e6).toFixed(1)} s sampled`,
  ];
  lines.push('  by package/file (self time):');
  for (const [b, t] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(t).padStart(6)}  ${b}`);
  lines.push('  top functions (self time):');
  for (const [f, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`    ${pct(t).padStart(6)}  ${f}`);
  return lines.join('\n');
}

export function summariseDir(dir: string, top = 12): string {
  if (!fs.existsSync(dir)) return `(no profile in ${dir})`;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  return files.map((f) => summarise(path.join(dir, f), top)).join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write('usage: profile.ts <dir|file.cpuprofile>\n');
    process.exit(2);
  }
  process.stdout.write(`${fs.statSync(target).isDirectory() ? summariseDir(target) : summarise(target)}\n`);
}
