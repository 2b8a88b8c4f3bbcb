import { expect } from 'chai';
import { recordsTable, type ScenarioRecord } from '../../faults/support.js';

describe('the fault tier figures table', () => {
  const rows: ScenarioRecord[] = [
    {
      id: '6a',
      fault: 'PostgreSQL Pod deleted',
      checked: 'rows kept',
      figures: { recoverySeconds: 7.4, lostRows: 0, catalogLagSeconds: null },
      state: 'passed',
    },
    {
      id: '3b',
      fault: 'OOM',
      checked: 'reason says memory',
      figures: { reason: 'Job has reached the specified backoff limit' },
      state: 'failed',
      error: 'expected "a | b" to match /memory/',
    },
  ];

  it('has one Markdown row per scenario, figures as "name value", null as "-"', () => {
    const lines = recordsTable(rows).split('\n');
    expect(lines).to.have.length(4);
    expect(lines[0]).to.equal('| # | fault | checked | figures | result |');
    expect(lines[2]).to.equal(
      '| 6a | PostgreSQL Pod deleted | rows kept | recoverySeconds 7.4, lostRows 0, catalogLagSeconds - | passed |',
    );
  });

  it('keeps a failure message from breaking the table (pipes replaced)', () => {
    const line = recordsTable(rows).split('\n')[3]!;
    expect(line).to.match(/\| failed: expected "a \/ b" to match \/memory\/ \|$/);
    expect(line.split('|')).to.have.length(7);
  });
});
