/**
 * helm lint with the defaults and each ci/ values file, and values.schema.json refusing wrong types.
 * No cluster needed, but it runs in the e2e suite with the other chart tests.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CHART, CI_VALUES, offlineValues, run } from './helpers.js';

describe('chart: helm lint and values schema', function () {
  this.timeout(120_000);

  it('has ci/ values files for the defaults and for every option switched on', () => {
    const names = CI_VALUES.map((f) => path.basename(f));
    expect(names).to.include.members(['default-values.yaml', 'all-options-values.yaml']);
  });

  for (const file of [undefined, ...CI_VALUES]) {
    it(`lints ${file ? `with ${path.basename(file)}` : 'with the default values'}`, async () => {
      const r = await run('helm', ['lint', '--strict', CHART, ...offlineValues(file)]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  const wrong: [string, string[]][] = [
    ['a string for an integer', ['--set', 'api.replicaCount=two']],
    ['a string for a boolean', ['--set-string', 'postgresql.enabled=yes']],
    ['an unknown pull policy', ['--set', 'api.image.pullPolicy=Sometimes']],
    ['a number for the ingress hosts list', ['--set', 'api.ingress.hosts=3']],
    ['an unknown key (a typo)', ['--set', 'api.replicas=2']],
    ['a bad SameSite value', ['--set', 'api.authCookie.sameSite=relaxed']],
    ['a wildcard CORS origin', ['--set', 'api.corsAllowedOrigins[0]=*']],
    ['a bcrypt cost out of range', ['--set', 'api.bcryptCost=40']],
    ['a metrics port out of range', ['--set', 'api.metricsPort=70000']],
    ['an alert error ratio above 1', ['--set', 'metrics.prometheusRule.apiErrorRatio=2']],
    ['a scrape interval that is no duration', ['--set', 'metrics.serviceMonitor.interval=soon']],
    ['a runbook base that is no URL', ['--set', 'metrics.prometheusRule.runbookBaseUrl=docs']],
  ];
  for (const [what, args] of wrong) {
    it(`refuses ${what}`, async () => {
      const r = await run('helm', ['template', 't', CHART, ...offlineValues(undefined), ...args]);
      expect(r.code, `helm template ${args.join(' ')} should fail`).to.not.equal(0);
      expect(r.stderr).to.match(/values don't meet the specifications of the schema|schema/i);
    });
  }

  it('refuses an external database without a host, with a message naming the value', async () => {
    const r = await run('helm', [
      'template',
      't',
      CHART,
      ...offlineValues(undefined),
      '--set',
      'postgresql.enabled=false',
      '--set',
      'externalDatabase.password=x',
    ]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.contain('externalDatabase.host is required');
  });

  it('documents every value of values.yaml (a "# --" comment on it or on the block it belongs to)', () => {
    const lines = readFileSync(path.join(CHART, 'values.yaml'), 'utf8').split('\n');
    const indent = (l: string) => l.length - l.trimStart().length;
    const documented = (i: number) => {
      for (let j = i - 1; j >= 0 && /^\s*#/.test(lines[j] ?? ''); j--)
        if (/^\s*# --/.test(lines[j] ?? '')) return true;
      return false;
    };
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      if (!/^\s*[A-Za-z0-9_]+:\s+\S/.test(line) || /^\s*#/.test(line)) return; // leaf values only
      let ok = documented(i);
      let level = indent(line);
      for (let j = i - 1; j >= 0 && !ok && level > 0; j--) {
        const l = lines[j] ?? '';
        if (/^\s*(#|$)/.test(l) || indent(l) >= level) continue;
        level = indent(l);
        ok = documented(j);
      }
      if (!ok) undocumented.push(`${i + 1}: ${line.trim()}`);
    });
    expect(undocumented, 'values without a "# --" comment').to.deep.equal([]);
  });
});
