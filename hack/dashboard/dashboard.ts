/**
 * The pure parts of the dashboard renderer (render.ts): the Grafana dashboard JSON's shape as far as the
 * renderer reads it, Grafana's template variables, the query step, legends, units and the 24-column grid.
 */

export interface Target {
  expr: string;
  legendFormat?: string;
  refId?: string;
  hide?: boolean;
}

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  gridPos: GridPos;
  targets?: Target[];
  fieldConfig?: { defaults?: FieldDefaults };
  options?: { graphMode?: string; colorMode?: string };
  /** rows: the panels a collapsed row holds */
  panels?: Panel[];
  collapsed?: boolean;
}

export interface ThresholdStep {
  color: string;
  /** null: the base step */
  value: number | null;
}

export interface FieldDefaults {
  unit?: string;
  decimals?: number;
  thresholds?: { mode?: string; steps: ThresholdStep[] };
  custom?: { fillOpacity?: number; lineWidth?: number };
}

export interface Dashboard {
  title: string;
  panels: Panel[];
}

/** Every panel to draw, in reading order: a collapsed row's own panels follow it (Grafana shows them expanded). */
export function flattenPanels(panels: Panel[]): Panel[] {
  const out: Panel[] = [];
  for (const p of panels) {
    out.push(p);
    if (p.type === 'row' && p.collapsed && p.panels) out.push(...p.panels);
  }
  return out.sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
}

/** Grafana's $__rate_interval: max(4 × scrape interval, step + scrape interval), in seconds. */
export function rateIntervalSeconds(scrapeSeconds: number, stepSeconds: number): number {
  return Math.max(4 * scrapeSeconds, stepSeconds + scrapeSeconds);
}

/**
 * The step of a range query ($__interval): the range over the panel's data points (Grafana's maxDataPoints
 * is the panel's width in pixels), never below the scrape interval, rounded up to whole seconds.
 */
export function stepSeconds(rangeSeconds: number, maxDataPoints: number, scrapeSeconds: number): number {
  return Math.max(scrapeSeconds, Math.ceil(rangeSeconds / Math.max(1, maxDataPoints)));
}

/**
 * Substitutes Grafana's variables in a PromQL expression: `$name` and `${name}` for each of `vars`
 * (longest names first, so `$__interval` never eats `$__interval_ms`); any variable left over is an error.
 */
export function substitute(expr: string, vars: Record<string, string>): string {
  const names = Object.keys(vars).sort((a, b) => b.length - a.length);
  let out = expr;
  for (const name of names) {
    out = out.split(`\${${name}}`).join(vars[name]!);
    out = out.replace(
      new RegExp(`\\$${name.replace(/[$]/g, '\\$')}(?![A-Za-z0-9_])`, 'g'),
      () => vars[name]!,
    );
  }
  const left = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(out);
  if (left) throw new Error(`unknown dashboard variable $${left[1]} in ${expr}`);
  return out;
}

/** The variables of one panel's queries: the dashboard's own and Grafana's built-ins for this step. */
export function panelVariables(
  namespace: string,
  rangeSeconds: number,
  step: number,
  scrapeSeconds: number,
): Record<string, string> {
  return {
    namespace,
    __rate_interval: `${rateIntervalSeconds(scrapeSeconds, step)}s`,
    __interval: `${step}s`,
    __interval_ms: `${step * 1000}`,
    __range: `${rangeSeconds}s`,
    __range_s: `${rangeSeconds}`,
  };
}

/**
 * A series' legend: Grafana's legendFormat with `{{label}}` replaced by the series' label value (an absent
 * label gives ''); without a legendFormat, the series' labels as `name{a="b"}`.
 */
export function legendOf(format: string | undefined, labels: Record<string, string>): string {
  if (format && format !== '__auto') {
    return format
      .replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, l: string) => labels[l] ?? '')
      .trim();
  }
  const { __name__: name = '', ...rest } = labels;
  const inner = Object.entries(rest)
    .map(([k, v]) => `${k}="${v}"`)
    .join(', ');
  return inner ? `${name}{${inner}}` : name || '{}';
}

const SI = ['', 'K', 'Mil', 'Bil', 'Tri'];
const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const DEC_BYTES = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];

function trim(v: number, decimals?: number): string {
  if (decimals !== undefined) return v.toFixed(decimals);
  const a = Math.abs(v);
  const d = a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return String(Number(v.toFixed(d)));
}

function scaled(v: number, base: number, units: string[], decimals?: number, sep = ' '): string {
  let i = 0;
  let x = v;
  while (Math.abs(x) >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return `${trim(x, decimals)}${sep}${units[i]}`.trimEnd();
}

/** A value in one of Grafana's units, as Grafana shows it (the units the dashboard uses; others as `short`). */
export function formatValue(v: number | null | undefined, unit = 'short', decimals?: number): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'No data';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  switch (unit) {
    case 's': {
      const a = Math.abs(v);
      if (a === 0) return '0 s';
      if (a < 1e-3) return `${trim(v * 1e6, decimals)} µs`;
      if (a < 1) return `${trim(v * 1e3, decimals)} ms`;
      if (a < 60) return `${trim(v, decimals)} s`;
      if (a < 3600) return `${trim(v / 60, decimals)} min`;
      if (a < 86400) return `${trim(v / 3600, decimals)} hour`;
      return `${trim(v / 86400, decimals)} day`;
    }
    case 'ms':
      return formatValue(v / 1000, 's', decimals);
    case 'bytes':
      return scaled(v, 1024, IEC, decimals);
    case 'Bps':
      return scaled(v, 1000, DEC_BYTES, decimals);
    case 'percentunit':
      return `${trim(v * 100, decimals)}%`;
    case 'percent':
      return `${trim(v, decimals)}%`;
    case 'reqps':
      return `${scaled(v, 1000, SI, decimals, '')} req/s`;
    case 'ops':
      return `${scaled(v, 1000, SI, decimals, '')} ops/s`;
    default:
      return scaled(v, 1000, SI, decimals, ' ');
  }
}

/** Grafana's grid: 24 columns, rows of 30 px with 8 px between cells. */
export const GRID = { columns: 24, cellHeight: 30, margin: 8 } as const;

export interface Placement {
  /** CSS grid lines, 1-based */
  column: number;
  columnSpan: number;
  row: number;
  rowSpan: number;
  /** pixels, for a page of `width` px */
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where a panel goes on a page `pageWidth` px wide, as Grafana's react-grid-layout places it. */
export function place(g: GridPos, pageWidth: number): Placement {
  const { columns, cellHeight, margin } = GRID;
  const colWidth = (pageWidth - margin * (columns - 1)) / columns;
  return {
    column: g.x + 1,
    columnSpan: g.w,
    row: g.y + 1,
    rowSpan: g.h,
    left: Math.round(g.x * (colWidth + margin)),
    top: g.y * (cellHeight + margin),
    width: Math.round(g.w * colWidth + (g.w - 1) * margin),
    height: g.h * cellHeight + (g.h - 1) * margin,
  };
}

/** The page height the grid needs (its lowest panel's bottom edge). */
export function gridHeight(panels: Panel[]): number {
  const bottom = Math.max(0, ...panels.map((p) => p.gridPos.y + p.gridPos.h));
  return bottom * (GRID.cellHeight + GRID.margin) - GRID.margin;
}

/** Checks that no two panels overlap on the grid (a dashboard JSON error Grafana silently rearranges). */
export function overlaps(panels: Panel[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < panels.length; i++) {
    for (let j = i + 1; j < panels.length; j++) {
      const a = panels[i]!.gridPos;
      const b = panels[j]!.gridPos;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
        out.push([panels[i]!.title ?? '', panels[j]!.title ?? '']);
      }
    }
  }
  return out;
}

/** Grafana's default thresholds of a new panel: green, red from 80. */
export const DEFAULT_THRESHOLDS: ThresholdStep[] = [
  { color: 'green', value: null },
  { color: 'red', value: 80 },
];

/** Grafana's dark theme colours of the named colours thresholds use. */
const NAMED: Record<string, string> = {
  green: '#73BF69',
  red: '#F2495C',
  yellow: '#FADE2A',
  orange: '#FF9830',
  blue: '#5794F2',
  purple: '#B877D9',
  text: '#ccccdc',
};

/** The colour of a value by absolute thresholds (the last step whose value it reaches; no value: text). */
export function thresholdColor(v: number | null, steps: ThresholdStep[] = DEFAULT_THRESHOLDS): string {
  if (v === null || Number.isNaN(v)) return NAMED.text!;
  let color = steps[0]?.color ?? 'green';
  for (const s of steps) if (s.value === null || v >= s.value) color = s.color;
  return NAMED[color] ?? color;
}

/** A time series' line style from fieldConfig (Grafana's defaults: 1 px lines, no fill). */
export function lineStyle(d: FieldDefaults | undefined): { width: number; fillOpacity: number } {
  return { width: d?.custom?.lineWidth ?? 1, fillOpacity: d?.custom?.fillOpacity ?? 0 };
}
