import { expect } from 'chai';
import type { Condition, Video } from '../../../common/video/index.js';
import { isVideoReady } from '../../../common/video/index.js';
import {
  createMergePatch,
  derivePhase,
  setCondition,
  writeStatus,
  type StatusClient,
} from '../../../operator/video/status.js';
import { video } from './fixtures.js';

const t0 = new Date('2026-11-26T08:00:00.123Z');
const t1 = new Date('2026-11-26T08:05:00.000Z');

describe('operator/video/status', () => {
  describe('setCondition', () => {
    it('adds a condition with a second-precision lastTransitionTime', () => {
      const c = setCondition(
        [],
        { type: 'Ready', status: 'False', reason: 'Pending', message: 'm', observedGeneration: 1 },
        t0,
      );
      expect(c).to.deep.equal([
        {
          type: 'Ready',
          status: 'False',
          reason: 'Pending',
          message: 'm',
          observedGeneration: 1,
          lastTransitionTime: '2026-11-26T08:00:00Z',
        },
      ]);
    });

    it('keeps lastTransitionTime when only reason or message change', () => {
      const a = setCondition([], { type: 'Ready', status: 'False', reason: 'Pending', message: 'm' }, t0);
      const b = setCondition(
        a,
        { type: 'Ready', status: 'False', reason: 'Transcoding', message: '1/3' },
        t1,
      );
      expect(b[0]?.lastTransitionTime).to.equal('2026-11-26T08:00:00Z');
      expect(b[0]?.reason).to.equal('Transcoding');
    });

    it('moves lastTransitionTime when status changes, and leaves other conditions alone', () => {
      const a = setCondition(
        setCondition([], { type: 'Probed', status: 'True', reason: 'Probed', message: '' }, t0),
        { type: 'Ready', status: 'False', reason: 'Pending', message: '' },
        t0,
      );
      const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Ready', message: '' }, t1);
      expect(b.map((c) => c.type)).to.deep.equal(['Probed', 'Ready']);
      expect(b[1]?.lastTransitionTime).to.equal('2026-11-26T08:05:00Z');
      expect(b[0]).to.deep.equal(a[0]);
      expect(a[1]?.status).to.equal('False'); // input not mutated
    });
  });

  it('derives the phase from the conditions', () => {
    const c = (type: string, status: Condition['status']): Condition => ({
      type,
      status,
      reason: 'R',
      message: '',
      lastTransitionTime: '',
    });
    expect(derivePhase(undefined)).to.equal('Pending');
    expect(derivePhase([c('Ready', 'False')])).to.equal('Pending');
    expect(derivePhase([c('Ready', 'False'), c('Probed', 'Unknown')])).to.equal('Processing');
    expect(derivePhase([c('Ready', 'True'), c('Probed', 'True')])).to.equal('Ready');
    expect(derivePhase([c('Ready', 'False'), c('Failed', 'True')])).to.equal('Failed');
  });

  it('isVideoReady needs Ready=True for the current generation', () => {
    const ready: Condition = {
      type: 'Ready',
      status: 'True',
      reason: 'Ready',
      message: '',
      lastTransitionTime: '',
    };
    expect(
      isVideoReady(video({ generation: 2 }, {}, { observedGeneration: 2, conditions: [ready] })),
    ).to.equal(true);
    expect(
      isVideoReady(video({ generation: 3 }, {}, { observedGeneration: 2, conditions: [ready] })),
    ).to.equal(false);
    expect(
      isVideoReady(
        video({ generation: 2 }, {}, { observedGeneration: 2, conditions: [{ ...ready, status: 'False' }] }),
      ),
    ).to.equal(false);
  });

  describe('createMergePatch', () => {
    it('sends only what changed, null for removals, whole arrays', () => {
      const from = {
        phase: 'Processing',
        message: 'x',
        source: { width: 1, height: 2 },
        renditions: [{ name: 'a' }],
      };
      const to = {
        phase: 'Ready',
        source: { width: 1, height: 3 },
        renditions: [{ name: 'a' }, { name: 'b' }],
      };
      expect(createMergePatch(from, to)).to.deep.equal({
        phase: 'Ready',
        message: null,
        source: { height: 3 },
        renditions: [{ name: 'a' }, { name: 'b' }],
      });
    });

    it('is undefined when nothing changed', () => {
      expect(createMergePatch({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).to.equal(undefined);
    });
  });

  describe('writeStatus', () => {
    function fake(conflicts: number) {
      const calls: Array<{ kind: string; body?: unknown }> = [];
      let rv = 100;
      const client: StatusClient = {
        async get() {
          calls.push({ kind: 'get' });
          return video({ resourceVersion: String(++rv) }, {}, { phase: 'Pending' });
        },
        async patchStatus(_ns, _name, body) {
          calls.push({ kind: 'patch', body });
          if (conflicts-- > 0) throw Object.assign(new Error('conflict'), { code: 409 });
          return { ...video(), status: (body as { status: Video['status'] }).status };
        },
      };
      return { client, calls };
    }

    it('does not write an unchanged status', async () => {
      const { client, calls } = fake(0);
      const v = video({}, {}, { phase: 'Pending', observedGeneration: 1 });
      expect(await writeStatus(client, v, { observedGeneration: 1, phase: 'Pending' })).to.equal(undefined);
      expect(calls).to.have.length(0);
    });

    it('writes a merge patch guarded by the resourceVersion', async () => {
      const { client, calls } = fake(0);
      await writeStatus(client, video({}, {}, { phase: 'Pending' }), { phase: 'Processing' });
      expect(calls).to.deep.equal([
        { kind: 'patch', body: { metadata: { resourceVersion: '100' }, status: { phase: 'Processing' } } },
      ]);
    });

    it('re-reads and retries on 409 Conflict, then gives up', async () => {
      const ok = fake(1);
      await writeStatus(ok.client, video({}, {}, { phase: 'Pending' }), { phase: 'Processing' });
      expect(ok.calls.map((c) => c.kind)).to.deep.equal(['patch', 'get', 'patch']);
      expect(
        (ok.calls[2]?.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
      ).to.equal('101');
      const bad = fake(5);
      let err: unknown;
      await writeStatus(bad.client, video({}, {}, { phase: 'Pending' }), { phase: 'Processing' }, 3).catch(
        (e: unknown) => (err = e),
      );
      expect((err as { code?: number })?.code).to.equal(409);
      expect(bad.calls.filter((c) => c.kind === 'patch')).to.have.length(3);
    });
  });
});
