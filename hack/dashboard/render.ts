/**
 * Draws the chart's Grafana dashboard (charts/videoflix/files/dashboards/videoflix.json) from a real
 * Prometheus, as Grafana would, and screenshots it: every panel on Grafana's 24-column grid by its gridPos,
 * row headers, time series drawn with uPlot (the library Grafana's time series panel uses) from
 * /api/v1/query_range, stat panels as big numbers from /api/v1/query, legends from legendFormat, values in
 * the panel's unit; dark theme. Headless Chromium (Debian's, driven by playwright-core) takes the picture.
 * Grafana itself cannot be had on this project's machines (issue 25): this stands in for it.
 *
 *   hack/dashboard/prometheus.sh up          # a Prometheus scraping the platform (KUBECONFIG, NAMESPACE)
 *   node --import=tsx hack/dashboard/render.ts
 *
 * env: PROM_URL (http://127.0.0.1:9390), NAMESPACE (videoflix), DASHBOARD_RANGE (seconds, 1800),
 * DASHBOARD_END (unix seconds, now), OUT (docs/images/grafana-dashboard.png: outside the chart, whose files
 * Helm keeps in every release's Secret), DASHBOARD
 * (the chart's JSON), CHROMIUM_PATH (/usr/bin/chromium).
 * Prints each panel and its number of series; exits 1 when a query fails (Prometheus rejected the PromQL:
 * a bug of the dashboard), 0 with a warning for panels without data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { parse as parseYaml } from 'yaml';
import {
  flattenPanels,
  gridHeight,
  legendOf,
  lineStyle,
  panelVariables,
  place,
  stepSeconds,
  substitute,
  thresholdColor,
  type Dashboard,
  type Panel,
} from './dashboard.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PAGE_WIDTH = 1600;

export interface RenderOptions {
  promUrl: string;
  namespace: string;
  rangeSeconds: number;
  /** unix seconds */
  end: number;
  dashboardPath: string;
  out: string;
  chromiumPath: string;
}

export interface Series {
  name: string;
  /** one value per timestamp of the panel (null: no sample); a stat's sparkline */
  values: Array<number | null>;
  /** stat panels: the instant value at the end of the range, and its threshold colour */
  value?: number | null;
  color?: string;
}

export interface PanelResult {
  title: string;
  type: string;
  unit: string;
  series: Series[];
  errors: string[];
}

export interface RenderResult {
  panels: PanelResult[];
  out: string;
}

interface PromMatrix {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}

/** One Prometheus API call; throws the server's own error text (bad PromQL answers 400 with it). */
async function prom(base: string, api: string, params: Record<string, string>): Promise<PromMatrix[]> {
  const res = await fetch(`${base.replace(/\/+$/, '')}/api/v1/${api}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as {
    status?: string;
    error?: string;
    errorType?: string;
    data?: { result?: PromMatrix[] };
  };
  if (body.status !== 'success') {
    throw new Error(`${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? 'no error text'}`);
  }
  return body.data?.result ?? [];
}

/** The global scrape interval of the Prometheus (its loaded config), in seconds; Grafana's default 15 s. */
async function scrapeIntervalSeconds(base: string): Promise<number> {
  try {
    const res = await fetch(`${base.replace(/\/+$/, '')}/api/v1/status/config`);
    const body = (await res.json()) as { data?: { yaml?: string } };
    const cfg = parseYaml(body.data?.yaml ?? '') as { global?: { scrape_interval?: string } };
    const m = /^(\d+)(s|m)$/.exec(cfg.global?.scrape_interval ?? '');
    if (m) return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
  } catch {
    // fall through
  }
  return 15;
}

const num = (s: string): number | null => {
  const v = Number(s);
  return Number.isFinite(v) ? v : null; // NaN (e.g. a quantile of no observations) is a gap, as in Grafana
};

/** Queries one panel's targets: a range for a time series, an instant value for a stat. */
async function queryPanel(
  o: RenderOptions,
  p: Panel,
  scrape: number,
): Promise<{ result: PanelResult; times: number[] }> {
  const width = place(p.gridPos, PAGE_WIDTH).width;
  const step = stepSeconds(o.rangeSeconds, width, scrape);
  const vars = panelVariables(o.namespace, o.rangeSeconds, step, scrape);
  const start = o.end - o.rangeSeconds;
  const times: number[] = [];
  for (let t = start; t <= o.end; t += step) times.push(t);
  const result: PanelResult = {
    title: p.title ?? '',
    type: p.type,
    unit: p.fieldConfig?.defaults?.unit ?? 'short',
    series: [],
    errors: [],
  };
  for (const target of (p.targets ?? []).filter((t) => !t.hide)) {
    let expr: string;
    try {
      expr = substitute(target.expr, vars);
    } catch (err) {
      result.errors.push((err as Error).message);
      continue;
    }
    try {
      const rows = await prom(o.promUrl, 'query_range', {
        query: expr,
        start: String(start),
        end: String(o.end),
        step: String(step),
      });
      const range = rows.map((r) => {
        const byTime = new Map((r.values ?? []).map(([t, v]) => [Math.round(t), num(v)]));
        return {
          name: legendOf(target.legendFormat, r.metric),
          values: times.map((t) => byTime.get(t) ?? null),
        };
      });
      if (p.type === 'stat') {
        // the value: an instant query at the end (Prometheus' lookback, as lastNotNull); the range: its sparkline
        for (const r of await prom(o.promUrl, 'query', { query: expr, time: String(o.end) })) {
          const name = legendOf(target.legendFormat, r.metric);
          const value = num(r.value![1]);
          const color = thresholdColor(value, p.fieldConfig?.defaults?.thresholds?.steps);
          result.series.push({
            name,
            value,
            color,
            values: range.find((x) => x.name === name)?.values ?? [],
          });
        }
      } else {
        result.series.push(...range);
      }
    } catch (err) {
      result.errors.push(`${(err as Error).message} (query: ${expr})`);
    }
  }
  return { result, times };
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** dashboard.ts's formatValue for the page (y axes and stats format as the summary does). */
async function formatterScript(): Promise<string> {
  const out = await build({
    stdin: {
      contents: "export { formatValue } from './dashboard.ts';",
      resolveDir: path.dirname(fileURLToPath(import.meta.url)),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    globalName: 'VF',
    write: false,
    target: 'es2022',
  });
  return out.outputFiles[0]!.text;
}

// The page's own script: draws every time series with uPlot once the page is laid out, then sets __done.
const PAGE_SCRIPT = String.raw`
const alpha = (opacity) => Math.round((opacity / 100) * 255).toString(16).padStart(2, '0');
const COLORS = ['#73BF69', '#F2CC0C', '#5794F2', '#FF9830', '#F2495C', '#B877D9', '#8AB8FF', '#FADE2A',
  '#37872D', '#E0B400', '#1F60C4', '#FA6400', '#C4162A', '#8F3BB8'];
for (const el of document.querySelectorAll('[data-chart]')) {
  const d = JSON.parse(el.dataset.chart);
  const box = el.querySelector('.plot');
  const legend = el.querySelector('.legend');
  d.series.forEach((s, i) => {
    const item = document.createElement('span');
    item.className = 'item';
    item.innerHTML = '<i style="background:' + COLORS[i % COLORS.length] + '"></i>';
    item.append(s.name || ' ');
    legend.append(item);
  });
  if (!d.series.length) { box.innerHTML = '<div class="nodata">No data</div>'; continue; }
  const fmt = (v) => VF.formatValue(v, d.unit);
  // times of day in UTC as Grafana prints them (24 h; seconds when the ticks are less than a minute apart)
  const clock = (t, incr) => new Date(t * 1000).toISOString().slice(11, incr >= 60 ? 16 : 19);
  // the y axis as wide as its widest label
  const yAxisSize = (u, vals) => {
    if (!vals) return 40;
    u.ctx.font = '12px Inter, "DejaVu Sans", sans-serif';
    return Math.ceil(Math.max(...vals.map((v) => u.ctx.measureText(v).width))) + 18;
  };
  const axis = { stroke: '#ccccdcb3', grid: { stroke: '#ccccdc1a', width: 1 }, ticks: { stroke: '#ccccdc1a', width: 1 },
    font: '12px Inter, "DejaVu Sans", sans-serif' };
  new uPlot({
    width: box.clientWidth,
    height: box.clientHeight,
    legend: { show: false },
    cursor: { show: false },
    scales: { y: { range: (u, min, max) => [Math.min(0, min), max > min ? max + (max - min) * 0.05 : (max || 1) * 1.1] } },
    axes: [{ ...axis, space: 45, values: (u, ts, ai, space, incr) => ts.map((t) => clock(t, incr)) }, { ...axis, size: yAxisSize, values: (u, vals) => vals.map(fmt) }],
    series: [{}, ...d.series.map((s, i) => ({ label: s.name, stroke: COLORS[i % COLORS.length], width: d.width,
      fill: d.fillOpacity > 0 ? COLORS[i % COLORS.length] + alpha(d.fillOpacity) : undefined,
      points: { show: false }, spanGaps: false }))],
  }, [d.times, ...d.series.map((s) => s.values)], box);
}
// stat panels: the value scaled to its box, and the sparkline (graphMode area) behind it
for (const v of document.querySelectorAll('.stat .v')) {
  const x = v.querySelector('.x');
  let size = Math.min(48, v.clientHeight * 0.45);
  x.style.fontSize = size + 'px';
  while (size > 10 && x.scrollWidth > v.clientWidth - 8) x.style.fontSize = (size -= 2) + 'px';
  const el = v.querySelector('.spark');
  if (!el) continue;
  const d = JSON.parse(el.dataset.spark);
  if (!d.values.some((y) => y !== null)) continue;
  new uPlot({ width: el.clientWidth, height: el.clientHeight, legend: { show: false }, cursor: { show: false },
    axes: [{ show: false }, { show: false }], scales: { x: { time: false } },
    series: [{}, { stroke: d.color, width: 1, fill: d.color + '33', points: { show: false } }],
  }, [d.times, d.values], el);
}
window.__done = true;
`;

const CSS = `
body { margin: 0; background: #111217; color: #ccccdc; font: 14px Inter, "DejaVu Sans", Helvetica, Arial, sans-serif; }
header { padding: 12px 16px 4px; display: flex; align-items: baseline; gap: 16px; }
header h1 { font-size: 18px; font-weight: 500; margin: 0; }
header .meta { color: #ccccdc99; font-size: 12px; }
header .var { background: #181b1f; border: 1px solid #ccccdc26; border-radius: 2px; padding: 3px 8px; font-size: 12px; }
.grid { position: relative; margin: 8px 16px 16px; }
.panel { position: absolute; box-sizing: border-box; background: #181b1f; border: 1px solid #ccccdc1f; border-radius: 2px;
  display: flex; flex-direction: column; overflow: hidden; }
.panel .title { height: 32px; line-height: 32px; padding: 0 8px; font-size: 14px; font-weight: 500; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; flex: none; }
.panel .plot { flex: 1; min-height: 0; padding: 0 4px; }
.panel .legend { flex: none; padding: 2px 8px 6px; font-size: 12px; display: flex; flex-wrap: wrap; gap: 2px 14px;
  max-height: 44px; overflow: hidden; }
.panel .legend .item { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.panel .legend i { display: inline-block; width: 14px; height: 4px; border-radius: 2px; }
.panel .nodata, .panel .error { display: flex; height: 100%; align-items: center; justify-content: center; color: #ccccdc99; }
.panel .error { color: #F2495C; font-size: 12px; padding: 8px; }
.row { position: absolute; box-sizing: border-box; font-size: 16px; font-weight: 500; line-height: 30px; padding-left: 4px; }
.row::before { content: '⌄'; margin-right: 8px; color: #ccccdc99; }
.stat { flex: 1; display: flex; gap: 8px; padding: 0 8px 8px; min-height: 0; }
.stat .v { flex: 1; min-width: 0; position: relative; display: flex; flex-direction: column; justify-content: center;
  align-items: center; }
.stat .spark { position: absolute; left: 0; right: 0; bottom: 0; height: 45%; }
.stat .n { font-size: 12px; color: #ccccdcb3; position: relative; }
.stat .x { font-weight: 500; white-space: nowrap; position: relative; }
`;

function panelHtml(p: Panel, r: PanelResult | undefined, times: number[]): string {
  const box = place(p.gridPos, PAGE_WIDTH);
  const style = `left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px`;
  if (p.type === 'row') return `<div class="row" style="${style}">${esc(p.title ?? '')}</div>`;
  const title = `<div class="title" title="${esc(p.description ?? '')}">${esc(p.title ?? '')}</div>`;
  if (!r)
    return `<div class="panel" style="${style}">${title}<div class="nodata">Panel type ${esc(p.type)}</div></div>`;
  if (r.errors.length) {
    return `<div class="panel" style="${style}">${title}<div class="error">${r.errors.map(esc).join('<br>')}</div></div>`;
  }
  if (p.type === 'stat') {
    const spark = p.options?.graphMode !== 'none';
    const values = r.series.length
      ? r.series
          .map((s) => {
            const data = esc(JSON.stringify({ times, values: s.values, color: s.color }));
            return (
              `<div class="v">${spark ? `<div class="spark" data-spark="${data}"></div>` : ''}` +
              `${r.series.length > 1 ? `<div class="n">${esc(s.name)}</div>` : ''}` +
              `<div class="x" style="color:${s.color}" data-value="${s.value ?? ''}" data-unit="${esc(r.unit)}"></div></div>`
            );
          })
          .join('')
      : '<div class="nodata">No data</div>';
    return `<div class="panel" style="${style}">${title}<div class="stat">${values}</div></div>`;
  }
  const chart = esc(
    JSON.stringify({ unit: r.unit, times, series: r.series, ...lineStyle(p.fieldConfig?.defaults) }),
  );
  return `<div class="panel" style="${style}" data-chart="${chart}">${title}<div class="plot"></div><div class="legend"></div></div>`;
}

/** Queries every panel and draws the page; the screenshot is taken by `screenshot`. */
export async function renderDashboard(o: RenderOptions): Promise<RenderResult> {
  const dashboard = JSON.parse(fs.readFileSync(o.dashboardPath, 'utf8')) as Dashboard;
  const panels = flattenPanels(dashboard.panels);
  const scrape = await scrapeIntervalSeconds(o.promUrl);
  const drawn = await Promise.all(
    panels.map((p) =>
      p.type === 'timeseries' || p.type === 'stat' ? queryPanel(o, p, scrape) : Promise.resolve(undefined),
    ),
  );
  const range =
    o.rangeSeconds % 3600 === 0 ? `${o.rangeSeconds / 3600} h` : `${Math.round(o.rangeSeconds / 60)} min`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(dashboard.title)}</title>
<style>${fs.readFileSync(path.join(ROOT, 'node_modules/uplot/dist/uPlot.min.css'), 'utf8')}${CSS}</style></head><body>
<header><h1>${esc(dashboard.title)}</h1><span class="var">namespace: ${esc(o.namespace)}</span>
<span class="meta">last ${range} to ${new Date(o.end * 1000).toISOString().replace(/\.\d+Z$/, ' UTC')}
 · Prometheus ${esc(o.promUrl)} (scrape ${scrape} s) · drawn by hack/dashboard/render.ts, not Grafana</span></header>
<div class="grid" style="height:${gridHeight(panels)}px">
${panels.map((p, i) => panelHtml(p, drawn[i]?.result, drawn[i]?.times ?? [])).join('\n')}
</div>
<script>${fs.readFileSync(path.join(ROOT, 'node_modules/uplot/dist/uPlot.iife.min.js'), 'utf8')}</script>
<script>${await formatterScript()}</script>
<script>
for (const el of document.querySelectorAll('.stat .x')) el.textContent = VF.formatValue(el.dataset.value === '' ? null : Number(el.dataset.value), el.dataset.unit);
${PAGE_SCRIPT}</script>
</body></html>`;
  await screenshot(html, o);
  return { panels: drawn.flatMap((d) => (d ? [d.result] : [])), out: o.out };
}

async function screenshot(html: string, o: RenderOptions): Promise<void> {
  const browser = await chromium.launch({ executablePath: o.chromiumPath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({
      viewport: { width: PAGE_WIDTH + 32, height: 900 },
      timezoneId: 'UTC',
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForFunction(() => (globalThis as { __done?: boolean }).__done === true, null, {
      timeout: 30_000,
    });
    if (pageErrors.length) throw new Error(`the page failed: ${pageErrors.join('; ')}`);
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    await page.screenshot({ path: o.out, fullPage: true });
  } finally {
    await browser.close();
  }
}

/** The summary lines, and whether any query failed. */
export function summarize(r: RenderResult): { lines: string[]; failed: boolean; empty: string[] } {
  const lines = [`${r.panels.length} panels drawn into ${path.relative(process.cwd(), r.out) || r.out}`];
  const empty: string[] = [];
  let failed = false;
  for (const p of r.panels) {
    const state = p.errors.length ? 'ERROR' : p.series.length ? `${p.series.length} series` : 'no data';
    lines.push(`  ${p.type.padEnd(10)} ${p.title.padEnd(48)} ${state}`);
    for (const e of p.errors) lines.push(`      ${e}`);
    if (p.errors.length) failed = true;
    else if (!p.series.length) empty.push(p.title);
  }
  if (empty.length) lines.push(`warning: ${empty.length} panels without data: ${empty.join('; ')}`);
  if (failed) lines.push('error: some queries failed (bad PromQL in the dashboard?)');
  return { lines, failed, empty };
}

export function optionsFromEnv(env = process.env): RenderOptions {
  return {
    promUrl: env.PROM_URL ?? 'http://127.0.0.1:9390',
    namespace: env.NAMESPACE ?? 'videoflix',
    rangeSeconds: Number(env.DASHBOARD_RANGE ?? 1800),
    end: Number(env.DASHBOARD_END ?? Math.floor(Date.now() / 1000)),
    dashboardPath: path.resolve(
      env.DASHBOARD ?? path.join(ROOT, 'charts/videoflix/files/dashboards/videoflix.json'),
    ),
    out: path.resolve(env.OUT ?? path.join(ROOT, 'docs/images/grafana-dashboard.png')),
    chromiumPath: env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await renderDashboard(optionsFromEnv());
  const s = summarize(r);
  for (const l of s.lines) console.log(l);
  process.exitCode = s.failed ? 1 : 0;
}
