/**
 * Root hooks of the fault tier (test/.mocharc.faults.json loads them after test/support/cluster-hooks.ts):
 * each scenario's record goes to test-results/faults/<id>.json after its test (passed or failed, with its
 * figures), and the tier ends with a table of every record (also written to test-results/faults/summary.md,
 * the source of README.md's "Reliability" table).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PENDING, readRecords, recordsTable, RESULTS_DIR, RUN_PENDING, writeRecord } from './support.js';

export const mochaHooks = {
  beforeAll(): void {
    // figures of this run only (a scenario left out of this run must not show an old result)
    fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
  },
  afterEach(this: Mocha.Context): void {
    if (this.currentTest) writeRecord(this.currentTest);
  },
  afterAll(): void {
    const pending = Object.entries(PENDING);
    if (pending.length > 0 && !RUN_PENDING) {
      process.stderr.write(
        `\n[faults] left out of this run until their product fix lands (FAULTS_PENDING=1 runs them):\n` +
          pending.map(([id, why]) => `  ${id}: ${why}`).join('\n') +
          '\n',
      );
    }
    const rows = readRecords();
    if (rows.length === 0) return;
    const table = recordsTable(rows);
    fs.writeFileSync(path.join(RESULTS_DIR, 'summary.md'), `${table}\n`);
    process.stderr.write(
      `\n[faults] figures of this run (${path.relative(process.cwd(), RESULTS_DIR)}):\n${table}\n`,
    );
  },
};
