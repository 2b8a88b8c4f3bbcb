/**
 * A running (or recorded) environment: its state.json, its processes by name (stop, start again
 * with the same spec, memory), and the ordered stop of everything it started.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pollUntil } from '@videoflix/testkit/waiters';
import { DEFAULT_ROOT } from './paths.js';
import { releasePorts } from './ports.js';
import {
  isAlive,
  isRunning,
  launch,
  processTree,
  signal,
  stopProcess,
  straysOf,
  waitReady,
} from './process.js';
import { readinessCheck } from './recipes/index.js';
import type { HostEnvState, HostEnvVars, ProcRecord } from './types.js';

export class HostEnv {
  constructor(
    public state: HostEnvState,
    /** True when this process started it (and so should stop it). */
    public readonly owned: boolean,
  ) {}

  get env(): HostEnvVars {
    return this.state.env;
  }

  get root(): string {
    return this.state.root;
  }

  get stateFile(): string {
    return path.join(this.state.root, 'state.json');
  }

  /** Every process is still the one that was started. */
  allRunning(): boolean {
    return Object.values(this.state.processes).every(isRunning);
  }

  /** Copies the variables into process.env (for code under test that reads its config there). */
  applyToProcessEnv(): void {
    Object.assign(process.env, this.state.env);
  }

  save(): void {
    fs.mkdirSync(this.root, { recursive: true });
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2));
    fs.renameSync(tmp, this.stateFile);
    const lines = Object.entries(this.state.env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`);
    fs.writeFileSync(
      path.join(this.root, 'env.sh'),
      `# written by @videoflix/hostenv (packages/hostenv); source it\n${lines.join('\n')}\n`,
    );
  }

  /**
   * Re-reads the pids from state.json: another HostEnv object (in this or another process) may
   * have restarted a process since this one was made.
   */
  refresh(): void {
    try {
      const disk = JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as HostEnvState;
      if (disk.startedAt === this.state.startedAt && disk.root === this.state.root) {
        this.state.processes = disk.processes;
        this.state.guardPid = disk.guardPid;
      }
    } catch {
      // no state file (yet): keep what we have
    }
  }

  /** Stops one process (see stopProcess); the record stays so it can be started again. */
  async stopProcess(name: string): Promise<void> {
    this.refresh();
    const rec = this.record(name);
    await stopProcess(rec);
  }

  /** Starts a stopped process again with the same spec (same ports, same data) and waits until ready. */
  async startProcess(name: string, timeoutMs = 120_000): Promise<void> {
    this.refresh();
    const rec = this.record(name);
    if (isRunning(rec)) return;
    const fresh = launch(rec.spec);
    this.state.processes[name] = fresh;
    this.save();
    await waitReady(fresh, 'ready after restart', readinessCheck(this.state, name, true), timeoutMs);
  }

  /** Simulates a broker outage: stops RabbitMQ (epmd stays), returns when it is gone. */
  async stopRabbit(): Promise<void> {
    await this.stopProcess('rabbitmq');
  }

  /** Starts RabbitMQ again on the same port with the same data (durable queues survive). */
  async startRabbit(): Promise<void> {
    await this.startProcess('rabbitmq');
  }

  /**
   * Restarts kube-controller-manager, e.g. after a test installs a CRD whose objects own others:
   * the garbage collector only rediscovers resources every 30 s.
   */
  async restartControllerManager(): Promise<void> {
    await this.stopProcess('kube-controller-manager');
    await this.startProcess('kube-controller-manager');
  }

  /** Resident memory (kB) of each process group. */
  memoryKb(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, rec] of Object.entries(this.state.processes)) {
      let kb = 0;
      for (const pid of isRunning(rec) ? processTree(rec.pid) : []) {
        try {
          const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
          kb += m ? Number(m[1]) : 0;
        } catch {
          // exited meanwhile
        }
      }
      out[name] = kb;
    }
    return out;
  }

  /**
   * Stops everything by pid: the guard first, kube-controller-manager, then the apiserver and the
   * services, then etcd and epmd. Removes the data directory and the state file (logs stay).
   */
  async stop(): Promise<void> {
    this.refresh();
    const { guardPid } = this.state;
    if (guardPid && guardPid !== process.pid && isAlive(guardPid)) {
      signal(-guardPid, 'SIGKILL');
      await pollUntil(() => !isAlive(guardPid), 2000);
    }
    const procs = this.state.processes;
    const phases = [
      ['kube-controller-manager'],
      ['kube-apiserver', 'versitygw', 'postgres', 'rabbitmq', 'maildev'],
      ['etcd', 'epmd'],
    ];
    const errors: unknown[] = [];
    for (const phase of phases) {
      const results = await Promise.allSettled(
        phase.filter((n) => procs[n]).map((n) => stopProcess(procs[n] as ProcRecord)),
      );
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    }
    // Safety net: anything still working in or naming this environment's directory.
    const strays = straysOf(this.root);
    if (strays.length) {
      for (const pid of strays) signal(pid, 'SIGKILL');
      await pollUntil(() => strays.every((pid) => !isAlive(pid)), 5000);
      errors.push(new Error(`killed stray processes of ${this.root}: ${strays.join(' ')}`));
    }
    if (errors.length) throw new Error(`hostenv stop: ${errors.map(String).join('; ')}`);
    await fsp.rm(path.join(this.root, 'data'), { recursive: true, force: true });
    await fsp.rm(path.join(this.root, 'pki'), { recursive: true, force: true });
    await fsp.rm(this.state.env.KUBECONFIG, { force: true });
    releasePorts(Object.values(this.state.ports), this.root);
    await fsp.rm(this.stateFile, { force: true });
    await fsp.rm(path.join(this.root, 'env.sh'), { force: true });
  }

  private record(name: string): ProcRecord {
    const rec = this.state.processes[name];
    if (!rec) throw new Error(`hostenv has no process named ${name}`);
    return rec;
  }
}

/** Reads <root>/state.json and returns the environment if all its processes still run. */
export function loadHostEnv(root = DEFAULT_ROOT): HostEnv | undefined {
  const file = path.join(root, 'state.json');
  if (!fs.existsSync(file)) return undefined;
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as HostEnvState;
  const env = new HostEnv(state, false);
  return state.ready !== false && env.allRunning() ? env : undefined;
}

/** Reads <root>/state.json whether or not its processes run (for `down` and `status`). */
export function readState(root = DEFAULT_ROOT): HostEnvState | undefined {
  const file = path.join(root, 'state.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as HostEnvState) : undefined;
}
