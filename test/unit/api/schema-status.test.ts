import { expect } from 'chai';
import { compareSchema, type SchemaStatus } from '../../../api/infra/migrator.js';
import { cachedSchemaCheck } from '../../../api/routes/health/index.js';

describe('api: the schema check of /readyz', function () {
  const code = ['0001-users', '0002-sessions', '0003-videos'];

  describe('compareSchema (applied migrations vs the code)', function () {
    it('is current when every migration of the code is applied', function () {
      const s = compareSchema(code, code);
      expect(s).to.include({ state: 'current', applied: 3, expected: 3 });
      expect(s.pending).to.deep.equal([]);
    });

    it('is current when the database has more (a newer release migrated it: a rollout in progress)', function () {
      expect(compareSchema([...code, '0004-later'], code).state).to.equal('current');
    });

    it('is missing without a migrations table or with an empty one, and says what to run', function () {
      for (const applied of [undefined, []]) {
        const s = compareSchema(applied, code);
        expect(s.state).to.equal('missing');
        expect(s.pending).to.deep.equal(code);
        expect(s.message).to.match(/^schema missing: .*run the migrations/);
      }
    });

    it('is behind naming each pending migration in order', function () {
      const s = compareSchema(['0001-users'], code);
      expect(s).to.include({ state: 'behind', applied: 1, expected: 3 });
      expect(s.pending).to.deep.equal(['0002-sessions', '0003-videos']);
      expect(s.message).to.match(
        /^schema behind: 2 of 3 migrations pending \(0002-sessions, 0003-videos\): run/,
      );
    });
  });

  describe('cachedSchemaCheck', function () {
    const current: SchemaStatus = compareSchema(code, code);
    const missing: SchemaStatus = compareSchema(undefined, code);

    it('reuses an answer for the time to live, then asks again', async function () {
      let now = 1_000;
      let calls = 0;
      let answer = current;
      const check = cachedSchemaCheck(
        async () => {
          calls += 1;
          return answer;
        },
        10_000,
        () => now,
      );
      expect((await check()).state).to.equal('current');
      answer = missing;
      now += 9_999;
      expect((await check()).state).to.equal('current');
      expect(calls).to.equal(1);
      now += 1;
      expect((await check()).state).to.equal('missing');
      expect(calls).to.equal(2);
    });

    it('shares one query between concurrent probes and keeps no failure', async function () {
      let calls = 0;
      let fail = true;
      const check = cachedSchemaCheck(
        async () => {
          calls += 1;
          await new Promise((r) => setImmediate(r));
          if (fail) throw new Error('connection lost');
          return current;
        },
        10_000,
        () => 0,
      );
      const both = await Promise.allSettled([check(), check()]);
      expect(both.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
      expect(calls).to.equal(1);
      fail = false;
      expect((await check()).state).to.equal('current');
      expect(calls).to.equal(2);
    });

    it('with a time to live of 0 asks every time', async function () {
      let calls = 0;
      const check = cachedSchemaCheck(
        async () => {
          calls += 1;
          return current;
        },
        0,
        () => 5,
      );
      await check();
      await check();
      expect(calls).to.equal(2);
    });
  });
});
