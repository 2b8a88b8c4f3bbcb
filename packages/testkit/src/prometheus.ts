/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4, what prom-client
 * serves), for tests that scrape /metrics: anything a Prometheus server would refuse is an error
 * naming the line (a malformed sample or label, a duplicate series, TYPE after the family's samples
 * or twice, a sample outside its declared family, histogram buckets that are not cumulative or whose
 * +Inf bucket differs from _count, a counter that is negative).
 *
 *   const m = parsePrometheus(await (await fetch(url)).text());
 *   m.value('videoflix_api_http_requests_total', { route: '/api/login/', status: '200' });
 *   m.sum('videoflix_api_sign_ins_total', { result: 'failure' });
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

export class PrometheusParseError extends Error {
  constructor(line: number, text: string, why: string) {
    super(`line ${line}: ${why}: ${JSON.stringify(text.slice(0, 200))}`);
    this.name = 'PrometheusParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** The sample names a family of `type` may have. */
function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(sample);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count', '_created']) {
    if (!sample.endsWith(suffix)) continue;
    const f = families.get(sample.slice(0, -suffix.length));
    if (!f) continue;
    if (f.type === 'histogram' && suffix !== '_created') return f;
    if (f.type === 'summary' && suffix !== '_bucket') return f;
  }
  return undefined;
}

/** A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case, prom-client writes `Nan`). */
function parseValue(s: string): number {
  const special = s.toLowerCase();
  if (['inf', '+inf', 'infinity', '+infinity'].includes(special)) return Infinity;
  if (['-inf', '-infinity'].includes(special)) return -Infinity;
  if (['nan', '+nan', '-nan'].includes(special)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`not a number: ${s}`);
  return Number(s);
}

/** `{a="x",b="y"}` at the start of `s`: the labels and the rest of the line. */
function parseLabels(s: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // past '{'
  for (;;) {
    while (s[i] === ' ') i++;
    if (s[i] === '}') return { labels, rest: s.slice(i + 1) };
    const name = LABEL_NAME.exec(s.slice(i))?.[0];
    if (!name) throw new Error('bad label name');
    i += name.length;
    if (s[i] !== '=' || s[i + 1] !== '"') throw new Error(`label ${name}: expected ="`);
    i += 2;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`label ${name}: unterminated value`);
      i++;
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i++];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`label ${name}: bad escape \\${e ?? ''}`);
      } else value += c;
    }
    if (name in labels) throw new Error(`label ${name} twice`);
    labels[name] = value;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`label ${name}: expected , or }`);
  }
}

const seriesKey = (name: string, labels: Record<string, string>) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

export class Metrics {
  constructor(readonly families: ReadonlyMap<string, Family>) {}

  /** Every sample named `name` (a family's own or a histogram's `_bucket`/`_sum`/`_count`) whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): Sample[] {
    const out: Sample[] = [];
    for (const f of this.families.values())
      for (const s of f.samples)
        if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
    return out;
  }

  /** The one sample matching exactly; undefined when none; an error when several match. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples(name, labels);
    if (found.length > 1)
      throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}: give more labels`);
    return found[0]?.value;
  }

  /** The sum of every sample matching (0 when none). */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name, labels).reduce((a, s) => a + s.value, 0);
  }

  type(family: string): MetricType | undefined {
    return this.families.get(family)?.type;
  }
}

export function parsePrometheus(text: string): Metrics {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const n = index + 1;
    const line = raw.trimEnd();
    if (line === '') return;
    const fail = (why: string) => new PrometheusParseError(n, raw, why);
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ''] = m;
      if (!NAME.test(name!) || NAME.exec(name!)![0] !== name) throw fail('bad metric name');
      let f = families.get(name!);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest as MetricType)) throw fail(`unknown type ${rest}`);
        if (f && (f.samples.length > 0 || f.type !== 'untyped' || f.help === undefined))
          throw fail(`TYPE of ${name} after its samples or a second time`);
        if (f) f.type = rest as MetricType;
        else families.set(name!, (f = { name: name!, type: rest as MetricType, samples: [] }));
      } else {
        if (f?.help !== undefined) throw fail(`second HELP of ${name}`);
        if (f) f.help = rest;
        else families.set(name!, { name: name!, type: 'untyped', help: rest, samples: [] });
      }
      return;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) throw fail('bad metric name');
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      try {
        ({ labels, rest } = parseLabels(rest));
      } catch (err) {
        throw fail((err as Error).message);
      }
    }
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2 || parts[0] === '')
      throw fail('expected a value (and an optional timestamp) after the name and labels');
    let value: number;
    try {
      value = parseValue(parts[0]!);
      if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp ${parts[1]}`);
    } catch (err) {
      throw fail((err as Error).message);
    }
    const key = seriesKey(name, labels);
    if (seen.has(key)) throw fail(`duplicate series ${key}`);
    seen.add(key);
    let f = familyOf(name, families);
    if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
    if (f.type === 'counter' && !(value >= 0)) throw fail('a counter must be a non-negative number');
    if (f.type === 'histogram' && name.endsWith('_bucket') && !('le' in labels))
      throw fail('a histogram bucket without le');
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return new Metrics(families);
}

/** Per series: buckets cumulative in le order, a +Inf bucket equal to _count. */
function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey('', rest);
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (s.name === `${f.name}_bucket`) entry.buckets.push([parseValue(le!), s.value]);
    else if (s.name === `${f.name}_count`) entry.count = s.value;
  }
  for (const [key, { buckets, count }] of series) {
    const where = `${f.name}${key}`;
    buckets.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < buckets.length; i++)
      if (buckets[i]![1] < buckets[i - 1]![1]) throw new Error(`${where}: buckets are not cumulative`);
    const inf = buckets.at(-1);
    if (!inf || inf[0] !== Infinity) throw new Error(`${where}: no +Inf bucket`);
    if (count === undefined || count !== inf[1])
      throw new Error(`${where}: _count ${count} != +Inf bucket ${inf[1]}`);
  }
}
