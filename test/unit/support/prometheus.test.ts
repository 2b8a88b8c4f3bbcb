import { expect } from 'chai';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PrometheusParseError, parsePrometheus } from '@videoflix/testkit/prometheus';

describe('parsePrometheus (strict text format 0.0.4)', () => {
  it("reads prom-client's own output: types, help, labels with escapes, histograms", async () => {
    const registry = new Registry();
    const c = new Counter({
      name: 'x_total',
      help: 'a counter',
      labelNames: ['path'],
      registers: [registry],
    });
    c.inc({ path: 'a"b\\c\nd' }, 3);
    new Gauge({ name: 'g', help: 'a gauge', registers: [registry] }).set(-1.5);
    const h = new Histogram({ name: 'h_seconds', help: 'h', buckets: [0.1, 1], registers: [registry] });
    h.observe(0.05);
    h.observe(5);
    const m = parsePrometheus(await registry.metrics());
    expect(m.type('x_total')).to.equal('counter');
    expect(m.families.get('x_total')?.help).to.equal('a counter');
    expect(m.value('x_total', { path: 'a"b\\c\nd' })).to.equal(3);
    expect(m.value('g')).to.equal(-1.5);
    expect(m.type('h_seconds')).to.equal('histogram');
    expect(m.value('h_seconds_bucket', { le: '0.1' })).to.equal(1);
    expect(m.value('h_seconds_bucket', { le: '+Inf' })).to.equal(2);
    expect(m.value('h_seconds_count')).to.equal(2);
    expect(m.value('h_seconds_sum')).to.equal(5.05);
    expect(m.sum('h_seconds_bucket')).to.equal(1 + 1 + 2);
    expect(m.value('absent')).to.equal(undefined);
  });

  it('reads NaN and Inf in any case, as Prometheus does (prom-client writes `Nan`)', () => {
    const m = parsePrometheus('a Nan\nb +Inf\nc -inf\nd NaN\n');
    expect(Number.isNaN(m.value('a'))).to.equal(true);
    expect(m.value('b')).to.equal(Infinity);
    expect(m.value('c')).to.equal(-Infinity);
    expect(Number.isNaN(m.value('d'))).to.equal(true);
    expect(() => parsePrometheus('a Nah\n')).to.throw(/not a number/);
  });

  it('refuses an ambiguous value() lookup', () => {
    const m = parsePrometheus('a{x="1"} 1\na{x="2"} 2\n');
    expect(() => m.value('a')).to.throw(/2 series/);
    expect(m.sum('a')).to.equal(3);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['a value that is no number', 'a 1x\n', /not a number/],
    ['no value', 'a{x="1"}\n', /expected a value/],
    ['an unterminated label value', 'a{x="1} 1\n', /unterminated/],
    ['a bad escape', 'a{x="\\t"} 1\n', /bad escape/],
    ['a label twice', 'a{x="1",x="2"} 1\n', /twice/],
    ['a duplicate series', 'a{x="1"} 1\na{x="1"} 2\n', /duplicate series/],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n', /TYPE of a after/],
    ['an unknown type', '# TYPE a meter\n', /unknown type/],
    ['a negative counter', '# TYPE a_total counter\na_total -1\n', /non-negative/],
    [
      'buckets that are not cumulative',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\n',
      /not cumulative/,
    ],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n', /no \+Inf/],
    [
      '_count different from +Inf',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\nh_sum 1\n',
      /_count 3 != \+Inf bucket 2/,
    ],
    ['a bad timestamp', 'a 1 soon\n', /bad timestamp/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parsePrometheus(text)).to.throw(message);
    });
  }

  it('names the line of a parse error', () => {
    try {
      parsePrometheus('# HELP a fine\na 1\nb{ 2\n');
      expect.fail('parsed');
    } catch (err) {
      expect(err).to.be.instanceOf(PrometheusParseError);
      expect((err as Error).message).to.match(/^line 3:/);
    }
  });
});
