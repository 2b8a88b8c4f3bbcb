/** The shapes kept in <root>/state.json and the options of startHostEnv. */
import type { HostEnv } from './env.js';

/** The variables the environment exposes to tests and to the programs under test. */
export interface HostEnvVars {
  KUBECONFIG: string;
  DATABASE_URL: string;
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_ACCESS_KEY: string;
  S3_SECRET_KEY: string;
  AMQP_URL: string;
  SMTP_HOST: string;
  SMTP_PORT: string;
  /** Base of maildev's REST API: `${MAIL_API_URL}/email` lists the captured mail. */
  MAIL_API_URL: string;
  /** Path of state.json, so helpers in any process can find the environment. */
  HOSTENV_STATE: string;
}

/** How a process is launched; kept in state.json so any process can restart it the same way. */
export interface ProcSpec {
  name: string;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  uid?: number;
  gid?: number;
  log: string;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
}

export interface ProcRecord {
  spec: ProcSpec;
  pid: number;
  /** /proc/<pid>/stat start time, to tell our process from a reused pid. */
  startTicks: number;
}

export interface HostEnvState {
  version: 1;
  root: string;
  /** pid of the process that started it. */
  startedBy: number;
  startedAt: string;
  startupMs: number;
  /** ms from start until each component was ready. */
  timings: Record<string, number>;
  ports: Record<string, number>;
  env: HostEnvVars;
  /** Superuser URL of the private PostgreSQL (for creating databases in tests). */
  databaseAdminUrl: string;
  apiserverUrl: string;
  processes: Record<string, ProcRecord>;
  /** pid of the guard that stops the environment when its starter dies (private envs). */
  guardPid?: number;
  /** False while starting (state.json is written after every launch, so `down` can clean up). */
  ready: boolean;
  /** True once the variables and the files they name (the kubeconfig) exist. */
  planned?: boolean;
}

export interface StartOptions {
  /** Directory for state, data and logs (default .cache/hostenv). Wiped (except logs) at start. */
  root?: string;
  /** Directories whose *.yaml CRDs are applied before the controller manager starts (default crds/). */
  crdDirs?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * Start a guard that stops the environment when this pid dies (a crash or SIGKILL of the test
   * runner, Ctrl-C during start-up). Default: none (the CLI's environment outlives it on purpose).
   */
  guardParent?: number;
  /**
   * Called once ports, credentials and variables are chosen, before any process is launched:
   * the variables can be published while the processes boot (the integration hooks do).
   */
  onPlanned?: (env: HostEnv) => void;
  /** Start only these parts (default all; HOSTENV_COMPONENTS=kube,s3,... does the same). */
  components?: Component[];
}

export const COMPONENTS = ['kube', 's3', 'postgres', 'rabbitmq', 'mail'] as const;
export type Component = (typeof COMPONENTS)[number];

/** The ports an environment reserves, by role. */
export const PORT_NAMES = [
  'etcd',
  'etcdPeer',
  'apiserver',
  's3',
  'postgres',
  'amqp',
  'rabbitDist',
  'epmd',
  'smtp',
  'mailWeb',
] as const;
export type Ports = Record<(typeof PORT_NAMES)[number], number>;

/** What a recipe needs to describe its process: the plan (ports, variables) and the directories. */
export interface RecipeContext {
  state: HostEnvState;
  ports: Ports;
  /** <root>/data: each service keeps its data in a directory of its own below it. */
  data: string;
  /** <root>/pki: the API server's certificates and keys, the controller manager's kubeconfig. */
  pki: string;
}

/** A ProcSpec with the launcher's defaults left out (log <root>/logs/<name>.log, SIGTERM, 10 s). */
export type LaunchSpec = Omit<ProcSpec, 'log' | 'stopTimeoutMs' | 'stopSignal'> & Partial<ProcSpec>;

/** A readiness check: true once the service answers. */
export type Check = () => Promise<boolean>;
