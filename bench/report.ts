/**
 * Prints the table of one benchmark run from the JSON lines in $BENCH_RESULTS (or the file given):
 *   node --import=tsx bench/report.ts [results.jsonl] [--markdown]
 */
import fs from 'node:fs';
import { fmt, type Row } from './support/lib.js';

const args = process.argv.slice(2);
const markdown = args.includes('--markdown');
const file = args.find((a) => !a.startsWith('--')) ?? process.env.BENCH_RESULTS;
if (!file || !fs.existsSync(file)) {
  process.stderr.write('report.ts: no results file\n');
  process.exit(2);
}
const rows = fs
  .readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Row & { load: number });

const table = rows.map((r) => [
  r.bench,
  r.metric,
  `${fmt(r.value)}${r.unit ? ` ${r.unit}` : ''}`,
  r.baseline ? `${fmt(r.baseline.value)} ${r.baseline.unit ?? r.unit ?? ''} (${r.baseline.label})` : '',
  r.ratio !== undefined && Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '',
  r.goal ?? '',
  String(r.load),
]);
const head = ['bench', 'figure', 'value', 'baseline (same run)', 'ratio', 'goal', 'load'];
if (markdown) {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  process.stdout.write(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n`);
  for (const t of table) process.stdout.write(`| ${t.map(esc).join(' | ')} |\n`);
  process.stdout.write('\nNotes:\n');
  for (const r of rows) if (r.note) process.stdout.write(`- ${r.bench} / ${r.metric}: ${r.note}\n`);
} else {
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...table.map((t) => t[i]!.length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (c.length > widths[i]! ? `${c.slice(0, widths[i]! - 1)}…` : c.padEnd(widths[i]!)))
      .join('  ');
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const t of table) process.stdout.write(`${line(t)}\n`);
}
