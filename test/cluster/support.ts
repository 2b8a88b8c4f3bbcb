/**
 * Helpers of the cluster-tier specs: pods, jobs and an in-cluster S3 server (versitygw) reached from the
 * host through `kubectl port-forward`. Everything runs in a throw-away namespace per spec file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client } from 'minio';
import { CLUSTER, ROOT } from '../support/cluster-hooks.js';
import { waitFor } from '../support/waiters.js';

export const S3_CREDENTIALS = { accessKey: 'videoflix-test', secretKey: 'videoflix-test-secret' };
export const S3_PORT = 7070;

/** Non-root, read-only root file system, no privilege escalation: how the chart will run the transcoder. */
export const restrictedContainer: Partial<k8s.V1Container> = {
  imagePullPolicy: 'Never',
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

/** The pod of a phase we wait for, with what it last looked like for the timeout message. */
export async function waitForPodPhase(
  core: k8s.CoreV1Api,
  namespace: string,
  name: string,
  phases: string[],
  timeoutMs = 120_000,
): Promise<k8s.V1Pod> {
  return waitFor(
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      if (phases.includes(pod.status?.phase ?? '')) return pod;
      const waiting = pod.status?.containerStatuses?.map(
        (s) => s.state?.waiting?.reason ?? s.state?.terminated?.reason,
      );
      throw new Error(`pod ${name} is ${pod.status?.phase} (${waiting?.join(',') ?? 'no container status'})`);
    },
    { timeoutMs, intervalMs: 500, what: `pod ${namespace}/${name} to be ${phases.join(' or ')}` },
  );
}

/** Waits until a Job has a Complete or Failed condition that is True and returns that condition type. */
export async function waitForJobEnd(
  batch: k8s.BatchV1Api,
  namespace: string,
  name: string,
  timeoutMs = 180_000,
): Promise<{ job: k8s.V1Job; type: 'Complete' | 'Failed' }> {
  return waitFor(
    async () => {
      const job = await batch.readNamespacedJob({ namespace, name });
      const end = job.status?.conditions?.find(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      if (end) return { job, type: end.type as 'Complete' | 'Failed' };
      throw new Error(
        `job ${name}: active ${job.status?.active ?? 0}, succeeded ${job.status?.succeeded ?? 0}, failed ${job.status?.failed ?? 0}`,
      );
    },
    { timeoutMs, intervalMs: 1000, what: `job ${namespace}/${name} to end` },
  );
}

/** Deploys versitygw (Secret, Deployment, Service "s3") into the namespace and waits until it is ready. */
export async function deployVersitygw(kc: k8s.KubeConfig, namespace: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const labels = { 'app.kubernetes.io/name': 'versitygw', 'app.kubernetes.io/part-of': 'videoflix-tests' };
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 's3-credentials' },
      stringData: {
        ROOT_ACCESS_KEY: S3_CREDENTIALS.accessKey,
        ROOT_SECRET_KEY: S3_CREDENTIALS.secretKey,
        S3_ACCESS_KEY: S3_CREDENTIALS.accessKey,
        S3_SECRET_KEY: S3_CREDENTIALS.secretKey,
      },
    },
  });
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'versitygw', labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                ...restrictedContainer,
                name: 'versitygw',
                image: CLUSTER.images.versitygw,
                args: ['--port', `:${S3_PORT}`, 'posix', '/data'],
                envFrom: [{ secretRef: { name: 's3-credentials' } }],
                ports: [{ name: 's3', containerPort: S3_PORT }],
                readinessProbe: { tcpSocket: { port: S3_PORT }, periodSeconds: 1 },
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
            volumes: [{ name: 'data', emptyDir: {} }],
          },
        },
      },
    },
  });
  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name: 's3', labels },
      spec: { selector: labels, ports: [{ name: 's3', port: S3_PORT, targetPort: S3_PORT }] },
    },
  });
  await waitFor(
    async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name: 'versitygw' });
      if ((d.status?.readyReplicas ?? 0) >= 1) return true;
      const pods = await core.listNamespacedPod({
        namespace,
        labelSelector: 'app.kubernetes.io/name=versitygw',
      });
      throw new Error(
        pods.items
          .map(
            (p) =>
              `${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? {})}`,
          )
          .join('; ') || 'no pod yet',
      );
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'versitygw to be ready' },
  );
  return `http://s3.${namespace}.svc.cluster.local:${S3_PORT}`;
}

/** `kubectl port-forward` to a Service; resolves with the local port once kubectl says it forwards. */
export async function portForward(
  namespace: string,
  target: string,
  remotePort: number,
): Promise<{ port: number; close: () => void }> {
  const child: ChildProcess = spawn(
    'kubectl',
    [
      '--kubeconfig',
      CLUSTER.kubeconfig,
      '-n',
      namespace,
      'port-forward',
      target,
      `:${remotePort}`,
      '--address',
      '127.0.0.1',
    ],
    {
      env: { ...process.env, PATH: `${path.join(ROOT, 'bin')}:${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward did not start: ${out}`)), 30_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward exited (${code}): ${out}`));
    });
  });
  return { port, close: () => child.kill('SIGTERM') };
}

export function s3Client(port: number): Client {
  return new Client({
    endPoint: '127.0.0.1',
    port,
    useSSL: false,
    region: 'us-east-1',
    pathStyle: true,
    ...S3_CREDENTIALS,
  });
}
