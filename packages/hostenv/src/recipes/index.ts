/** One recipe per service; the readiness check of a process by name (start-up and restarts). */
import { apiserverReady } from './kube-apiserver.js';
import { controllerManagerReady } from './kube-controller-manager.js';
import { etcdReady } from './etcd.js';
import { maildevReady } from './maildev.js';
import { postgresReady } from './postgres.js';
import { epmdReady, rabbitReady } from './rabbitmq.js';
import { versitygwReady } from './versitygw.js';
import type { Check, HostEnvState } from '../types.js';

const READY: Record<string, (state: HostEnvState, restart: boolean) => Check> = {
  etcd: etcdReady,
  'kube-apiserver': apiserverReady,
  'kube-controller-manager': controllerManagerReady,
  versitygw: versitygwReady,
  postgres: postgresReady,
  epmd: epmdReady,
  rabbitmq: rabbitReady,
  maildev: maildevReady,
};

export function readinessCheck(state: HostEnvState, name: string, restart = false): Check {
  const ready = READY[name];
  if (!ready) throw new Error(`no readiness check for ${name}`);
  return ready(state, restart);
}

export * from './etcd.js';
export * from './kube-apiserver.js';
export * from './kube-controller-manager.js';
export * from './maildev.js';
export * from './postgres.js';
export * from './rabbitmq.js';
export * from './versitygw.js';
