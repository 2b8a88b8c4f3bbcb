/**
 * The kind platform of `make dev` (hack/dev.sh up) as the benchmarks measure it: kubectl against its
 * kubeconfig, the Pods' CPU read from their cgroups on the kind node (no metrics-server is installed;
 * the kubelet's summary lags by its 10-15 s housekeeping), and the bundled S3 server reached directly
 * through a temporary NodePort Service on the node's container IP (not `kubectl port-forward`, which is
 * slower than the ingress and would flatter the API's ratio).
 *
 * Settings come from hack/bench.sh: BENCH_API_URL, BENCH_ADMIN_EMAIL, BENCH_ADMIN_PASSWORD,
 * BENCH_KUBECONFIG (from $DEV_DIR/endpoints.env), BENCH_NAMESPACE (videoflix), DOCKER_HOST (the
 * project's dockerd, for `docker exec` into the node).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import * as Minio from 'minio';
import { REPO_ROOT } from './lib.js';

export const NAMESPACE = process.env.BENCH_NAMESPACE ?? process.env.DEV_NAMESPACE ?? 'videoflix';

export interface PlatformEnv {
  apiUrl: string;
  email: string;
  password: string;
  kubeconfig: string;
}

export function platformEnv(): PlatformEnv | undefined {
  const e = process.env;
  if (!e.BENCH_API_URL || !e.BENCH_KUBECONFIG) return undefined;
  return {
    apiUrl: e.BENCH_API_URL.replace(/\/+$/, ''),
    email: e.BENCH_ADMIN_EMAIL ?? '',
    password: e.BENCH_ADMIN_PASSWORD ?? '',
    kubeconfig: e.BENCH_KUBECONFIG,
  };
}

const toolEnv = () => ({ ...process.env, PATH: `${path.join(REPO_ROOT, 'bin')}:${process.env.PATH ?? ''}` });

function exec(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024, env: toolEnv() },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`))
          : resolve(stdout),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  return exec('kubectl', ['--kubeconfig', kubeconfig, ...args], input);
}

export async function kubectlJson<T>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, [...args, '-o', 'json'])) as T;
}

interface PodList {
  items: Array<{
    metadata: { name: string; uid: string };
    spec: { nodeName?: string };
    status: { phase?: string };
  }>;
}

/**
 * CPU seconds used so far by the running Pods matching `selector` (their cgroups, all containers),
 * summed. The cgroup directories are looked up once; `read()` is one `docker exec … cat` per node.
 * cgroup v1 (cpuacct.usage, ns) and v2 (cpu.stat usage_usec) are both read.
 */
export async function podCpu(
  kubeconfig: string,
  selector: string,
  ns = NAMESPACE,
): Promise<{ pods: string[]; read: () => Promise<number> }> {
  const list = await kubectlJson<PodList>(kubeconfig, ['get', 'pods', '-n', ns, '-l', selector]);
  const pods = list.items.filter((p) => p.status.phase === 'Running' && p.spec.nodeName);
  if (!pods.length) throw new Error(`no running Pod matches ${selector} in namespace ${ns}`);
  const byNode = new Map<string, string[]>();
  for (const p of pods) {
    const uid = p.metadata.uid.replace(/-/g, '_');
    const dir = (
      await exec('docker', [
        'exec',
        p.spec.nodeName!,
        'sh',
        '-c',
        `find /sys/fs/cgroup/cpuacct /sys/fs/cgroup -maxdepth 6 -type d \\( -name '*pod${uid}.slice' -o -name 'pod${p.metadata.uid}' \\) 2>/dev/null | head -1`,
      ])
    ).trim();
    if (!dir) throw new Error(`no cgroup of Pod ${p.metadata.name} on node ${p.spec.nodeName}`);
    byNode.set(p.spec.nodeName!, [...(byNode.get(p.spec.nodeName!) ?? []), dir]);
  }
  const read = async () => {
    let total = 0;
    for (const [node, dirs] of byNode) {
      const script = dirs
        .map(
          (d) =>
            `if [ -f '${d}/cpuacct.usage' ]; then cat '${d}/cpuacct.usage'; else awk '/^usage_usec/ {print $2 * 1000}' '${d}/cpu.stat'; fi`,
        )
        .join('; ');
      const out = await exec('docker', ['exec', node, 'sh', '-c', script]);
      for (const l of out.split('\n')) if (l.trim()) total += Number(l.trim()) / 1e9;
    }
    return total;
  };
  return { pods: pods.map((p) => p.metadata.name), read };
}

/** Waits until the Pods' CPU use over 500 ms falls under 10 % of a core (work left in flight done). */
export async function podsDrained(read: () => Promise<number>, maxMs = 30_000): Promise<void> {
  const end = performance.now() + maxMs;
  while (performance.now() < end) {
    const c0 = await read();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    if ((await read()) - c0 < 0.1 * ((performance.now() - t0) / 1000)) return;
  }
}

/** The ingress controller's Pods (Traefik, in its own namespace), or undefined when not found. */
export async function ingressPods(kubeconfig: string) {
  const pods = await kubectlJson<{
    items: Array<{ metadata: { namespace: string; labels?: Record<string, string> } }>;
  }>(kubeconfig, ['get', 'pods', '-A', '-l', 'app.kubernetes.io/name=traefik']).catch(() => ({ items: [] }));
  const ns = pods.items[0]?.metadata.namespace;
  return ns ? podCpu(kubeconfig, 'app.kubernetes.io/name=traefik', ns).catch(() => undefined) : undefined;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

export interface DirectS3 {
  client: Minio.Client;
  /** http://<node IP>:<node port> */
  endpoint: string;
  mediaBucket: string;
  /** The sources bucket (the API's identity may put objects there). */
  sourceBucket: string;
  /** Removes the temporary NodePort Service. */
  stop(): Promise<void>;
}

/**
 * The bundled S3 server (the Service in the API's S3_ENDPOINT) reached from the host through a temporary
 * NodePort Service `<service>-bench-direct` on the kind node's container IP, with the credentials of the
 * chart's Secret. stop() deletes the Service.
 */
export async function directS3(kubeconfig: string, ns = NAMESPACE): Promise<DirectS3> {
  const deps = await kubectlJson<{
    items: Array<{ spec: { template: { spec: { containers: Array<{ env?: EnvVar[] }> } } } }>;
  }>(kubeconfig, ['get', 'deployments', '-n', ns, '-l', 'app.kubernetes.io/component=api']);
  const env = deps.items[0]?.spec.template.spec.containers.flatMap((c) => c.env ?? []) ?? [];
  const value = (n: string) => env.find((e) => e.name === n)?.value;
  const secret = async (n: string) => {
    const ref = env.find((e) => e.name === n)?.valueFrom?.secretKeyRef;
    if (!ref) throw new Error(`the API Deployment takes ${n} from no Secret`);
    const s = await kubectlJson<{ data: Record<string, string> }>(kubeconfig, [
      'get',
      'secret',
      ref.name,
      '-n',
      ns,
    ]);
    return Buffer.from(s.data[ref.key] ?? '', 'base64').toString('utf8');
  };
  const endpoint = value('S3_ENDPOINT');
  const mediaBucket = value('S3_MEDIA_BUCKET');
  const sourceBucket = value('S3_SOURCE_BUCKET') ?? '';
  if (!endpoint || !mediaBucket) throw new Error('the API Deployment sets no S3_ENDPOINT / S3_MEDIA_BUCKET');
  const service = new URL(endpoint).hostname.split('.')[0]!;
  const svc = await kubectlJson<{
    spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: number | string }> };
  }>(kubeconfig, ['get', 'service', service, '-n', ns]);
  const port =
    svc.spec.ports.find((p) => p.port === Number(new URL(endpoint).port || 80)) ?? svc.spec.ports[0]!;
  const name = `${service}-bench-direct`.slice(0, 63);
  await kubectl(
    kubeconfig,
    ['apply', '-n', ns, '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'videoflix-bench' } },
      spec: {
        type: 'NodePort',
        selector: svc.spec.selector,
        ports: [{ port: port.port, targetPort: port.targetPort }],
      },
    }),
  );
  const stop = async () => {
    await kubectl(kubeconfig, [
      'delete',
      'service',
      name,
      '-n',
      ns,
      '--ignore-not-found',
      '--wait=false',
    ]).catch(() => undefined);
  };
  try {
    const created = await kubectlJson<{ spec: { ports: Array<{ nodePort: number }> } }>(kubeconfig, [
      'get',
      'service',
      name,
      '-n',
      ns,
    ]);
    const nodePort = created.spec.ports[0]!.nodePort;
    const nodes = await kubectlJson<{
      items: Array<{ status: { addresses: Array<{ type: string; address: string }> } }>;
    }>(kubeconfig, ['get', 'nodes']);
    const ip = nodes.items[0]?.status.addresses.find((a) => a.type === 'InternalIP')?.address;
    if (!ip) throw new Error('the kind node has no InternalIP');
    const client = new Minio.Client({
      endPoint: ip,
      port: nodePort,
      useSSL: false,
      accessKey: await secret('S3_ACCESS_KEY'),
      secretKey: await secret('S3_SECRET_KEY'),
      region: value('S3_REGION') ?? 'us-east-1',
      pathStyle: true,
    });
    // kube-proxy needs a moment for a new NodePort
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        if (await client.bucketExists(mediaBucket)) break;
        throw new Error(`bucket ${mediaBucket} missing`);
      } catch (err) {
        // the API's own S3 identity may read media objects but not list the bucket (common/grants): an
        // AccessDenied answer proves the server is reachable; the segment GETs are what the bench signs
        if ((err as { code?: string }).code === 'AccessDenied') break;
        if (Date.now() > end) throw new Error(`S3 at ${ip}:${nodePort} (NodePort ${name}): ${String(err)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    return { client, endpoint: `http://${ip}:${nodePort}`, mediaBucket, sourceBucket, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
