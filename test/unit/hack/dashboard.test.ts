import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import {
  GRID,
  flattenPanels,
  formatValue,
  gridHeight,
  legendOf,
  lineStyle,
  overlaps,
  panelVariables,
  place,
  rateIntervalSeconds,
  stepSeconds,
  substitute,
  thresholdColor,
  type Dashboard,
  type Panel,
} from '../../../hack/dashboard/dashboard.js';

const DASHBOARD = path.resolve(
  import.meta.dirname,
  '../../../charts/videoflix/files/dashboards/videoflix.json',
);

describe('hack/dashboard: the pure parts of the dashboard renderer', () => {
  describe('$__rate_interval and the step', () => {
    it("follows Grafana's rule max(4 × scrape interval, step + scrape interval)", () => {
      expect(rateIntervalSeconds(5, 5)).to.equal(20);
      expect(rateIntervalSeconds(15, 15)).to.equal(60);
      expect(rateIntervalSeconds(5, 30)).to.equal(35);
      expect(rateIntervalSeconds(30, 2)).to.equal(120);
    });

    it('steps by the range over the data points, never below the scrape interval', () => {
      expect(stepSeconds(1800, 525, 5)).to.equal(5);
      expect(stepSeconds(6 * 3600, 525, 5)).to.equal(42);
      expect(stepSeconds(60, 1000, 15)).to.equal(15);
      expect(stepSeconds(100, 0, 1)).to.equal(100);
    });
  });

  describe('variables', () => {
    const vars = panelVariables('videoflix', 1800, 10, 5);

    it("substitutes $name, ${name} and Grafana's built-ins", () => {
      expect(vars).to.include({
        namespace: 'videoflix',
        __rate_interval: '20s',
        __interval: '10s',
        __range: '1800s',
      });
      expect(substitute('rate(x{namespace="$namespace"}[$__rate_interval])', vars)).to.equal(
        'rate(x{namespace="videoflix"}[20s])',
      );
      expect(substitute('x{namespace="${namespace}"}[${__interval}]', vars)).to.equal(
        'x{namespace="videoflix"}[10s]',
      );
      expect(substitute('x[$__interval] * $__interval_ms', vars)).to.equal('x[10s] * 10000');
    });

    it('leaves the rest of the PromQL alone, and refuses a variable it does not know', () => {
      expect(substitute('sum by (le) (rate(x_bucket[1h]))', vars)).to.equal(
        'sum by (le) (rate(x_bucket[1h]))',
      );
      expect(() => substitute('x{pod="$pod"}', vars)).to.throw(/unknown dashboard variable \$pod/);
      expect(() => substitute('x[$__rate_intervals]', vars)).to.throw(/\$__rate_intervals/);
    });
  });

  describe('legends', () => {
    it('fills legendFormat from the labels (absent labels are empty)', () => {
      expect(legendOf('{{task}} {{outcome}}', { task: '720p', outcome: 'Active' })).to.equal('720p Active');
      expect(legendOf('p95 {{ route }}', { route: '/api/login/' })).to.equal('p95 /api/login/');
      expect(legendOf('{{result}} {{reason}}', { result: 'success' })).to.equal('success');
      expect(legendOf('leaders', {})).to.equal('leaders');
    });

    it('names a series by its labels without a legendFormat', () => {
      expect(legendOf(undefined, { __name__: 'up', job: 'a' })).to.equal('up{job="a"}');
      expect(legendOf('__auto', { a: '1', b: '2' })).to.equal('{a="1", b="2"}');
      expect(legendOf('', {})).to.equal('{}');
    });
  });

  describe('units', () => {
    it('formats the units of the dashboard as Grafana does', () => {
      expect(formatValue(0.0123, 's')).to.equal('12.3 ms');
      expect(formatValue(42, 's')).to.equal('42 s');
      expect(formatValue(150, 's')).to.equal('2.5 min');
      expect(formatValue(0.00005, 's')).to.equal('50 µs');
      expect(formatValue(0, 's')).to.equal('0 s');
      expect(formatValue(200 * 1024 * 1024, 'bytes')).to.equal('200 MiB');
      expect(formatValue(512, 'bytes')).to.equal('512 B');
      expect(formatValue(2_500_000, 'Bps')).to.equal('2.5 MB/s');
      expect(formatValue(0.052, 'percentunit')).to.equal('5.2%');
      expect(formatValue(3.5, 'reqps')).to.equal('3.5 req/s');
      expect(formatValue(1500, 'reqps')).to.equal('1.5K req/s');
      expect(formatValue(0.25, 'ops')).to.equal('0.25 ops/s');
      expect(formatValue(12000, 'short')).to.equal('12 K');
      expect(formatValue(3, 'short')).to.equal('3');
      expect(formatValue(1.23456, 'short', 1)).to.equal('1.2');
    });

    it('says No data for a missing value and keeps infinities', () => {
      expect(formatValue(null, 's')).to.equal('No data');
      expect(formatValue(Number.NaN)).to.equal('No data');
      expect(formatValue(Number.POSITIVE_INFINITY)).to.equal('+Inf');
    });
  });

  describe('colours and styles', () => {
    it("colours a stat by Grafana's default thresholds (green, red from 80) or the panel's own", () => {
      expect(thresholdColor(1)).to.equal('#73BF69');
      expect(thresholdColor(80)).to.equal('#F2495C');
      expect(thresholdColor(null)).to.equal('#ccccdc');
      const steps = [
        { color: 'green', value: null },
        { color: 'orange', value: 1 },
        { color: '#123456', value: 10 },
      ];
      expect([0, 1, 9, 10].map((v) => thresholdColor(v, steps))).to.deep.equal([
        '#73BF69',
        '#FF9830',
        '#FF9830',
        '#123456',
      ]);
    });

    it("draws time series as Grafana's defaults unless fieldConfig.custom says otherwise", () => {
      expect(lineStyle(undefined)).to.deep.equal({ width: 1, fillOpacity: 0 });
      expect(lineStyle({ custom: { fillOpacity: 10, lineWidth: 2 } })).to.deep.equal({
        width: 2,
        fillOpacity: 10,
      });
    });
  });

  describe('the grid', () => {
    it("places panels on Grafana's 24 columns of 30 px rows with 8 px margins", () => {
      const full = place({ x: 0, y: 0, w: 24, h: 1 }, 1600);
      expect(full).to.include({ left: 0, top: 0, width: 1600, height: 30, column: 1, columnSpan: 24 });
      const third = place({ x: 8, y: 1, w: 8, h: 8 }, 1600);
      const colWidth = (1600 - 23 * GRID.margin) / 24;
      expect(third.left).to.equal(Math.round(8 * (colWidth + 8)));
      expect(third.top).to.equal(38);
      expect(third.height).to.equal(8 * 30 + 7 * 8);
      // three 8-column panels fill the row with two margins between them
      const right = place({ x: 16, y: 1, w: 8, h: 8 }, 1600);
      expect(right.left + right.width).to.be.closeTo(1600, 1);
      expect(right.left - (third.left + third.width)).to.be.closeTo(GRID.margin, 1);
    });

    it("draws a collapsed row's panels after it and finds overlapping panels", () => {
      const a: Panel = { type: 'timeseries', title: 'a', gridPos: { x: 0, y: 1, w: 12, h: 8 } };
      const b: Panel = { type: 'timeseries', title: 'b', gridPos: { x: 6, y: 5, w: 12, h: 8 } };
      const row: Panel = {
        type: 'row',
        title: 'r',
        collapsed: true,
        gridPos: { x: 0, y: 0, w: 24, h: 1 },
        panels: [a],
      };
      expect(flattenPanels([b, row]).map((p) => p.title)).to.deep.equal(['r', 'a', 'b']);
      expect(overlaps([a, b])).to.deep.equal([['a', 'b']]);
      expect(gridHeight([a, b])).to.equal(13 * 38 - 8);
    });
  });

  describe("the chart's dashboard", () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
    const panels = flattenPanels(dashboard.panels);
    const vars = panelVariables('videoflix', 1800, 5, 5);

    it('has only panel types and units the renderer draws', () => {
      expect(panels).to.have.length(28);
      expect(new Set(panels.map((p) => p.type))).to.deep.equal(new Set(['row', 'timeseries', 'stat']));
      const units = new Set(panels.flatMap((p) => p.fieldConfig?.defaults?.unit ?? []));
      for (const u of units)
        expect(['s', 'bytes', 'Bps', 'percentunit', 'reqps', 'ops', 'short'], u).to.include(u);
    });

    it('uses no variable but its own and the built-ins, on a grid without overlaps', () => {
      for (const p of panels) {
        for (const t of p.targets ?? []) expect(() => substitute(t.expr, vars), p.title).to.not.throw();
        expect(p.gridPos.x + p.gridPos.w, p.title).to.be.at.most(24);
      }
      expect(overlaps(panels)).to.deep.equal([]);
    });
  });
});
