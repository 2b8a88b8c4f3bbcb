import { expect } from 'chai';
import { parseCfs, parseCpuMax, threadsForCpus } from '../../../transcoder-image/cpu.js';

describe('transcoder encoder threads', () => {
  it('reads a CPU limit from cgroup v2 cpu.max', () => {
    expect(parseCpuMax('max 100000\n')).to.equal(undefined);
    expect(parseCpuMax('200000 100000\n')).to.equal(2);
    expect(parseCpuMax('50000 100000')).to.equal(0.5);
    expect(parseCpuMax('garbage')).to.equal(undefined);
  });

  it('reads a CPU limit from cgroup v1 CFS files', () => {
    expect(parseCfs('-1\n', '100000\n')).to.equal(undefined);
    expect(parseCfs('150000\n', '100000\n')).to.equal(1.5);
  });

  it('sizes the pool as libx264 would for that many CPUs, at least one thread', () => {
    expect(threadsForCpus(2)).to.equal(3);
    expect(threadsForCpus(4)).to.equal(6);
    expect(threadsForCpus(1.5)).to.equal(2);
    expect(threadsForCpus(0.5)).to.equal(1);
    expect(threadsForCpus(0.1)).to.equal(1);
  });
});
