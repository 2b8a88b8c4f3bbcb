// Regenerates charts/videoflix/values.schema.json from values.yaml: types inferred from the defaults,
// closed objects (a typo in a key fails `helm lint`), plus the enums, ranges and patterns listed below.
// usage: node hack/chart-schema.mjs   (after changing values.yaml; the chart tests lint with the schema)
import { readFileSync, writeFileSync } from 'node:fs';
import { URL } from 'node:url';
import YAML from 'yaml';
const values = YAML.parse(readFileSync(new URL('../charts/videoflix/values.yaml', import.meta.url), 'utf8'));
// free-form maps (any keys) and pass-through Kubernetes objects
const freeForm = new Set([
  'commonLabels',
  'annotations',
  'podAnnotations',
  'nodeSelector',
  'affinity',
  'resources',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'securityContext',
  'seccompProfile',
  'capabilities',
]);
const k8sLists = new Set(['imagePullSecrets', 'tolerations', 'extraEnv']);
const imagePolicy = { type: 'string', enum: ['', 'Always', 'IfNotPresent', 'Never'] };
const special = {
  'global.imagePullPolicy': { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] },
  logLevel: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  'api.authCookie.sameSite': { type: 'string', enum: ['strict', 'lax', 'none'] },
  'api.service.type': { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] },
  'api.bcryptCost': { type: 'integer', minimum: 4, maximum: 31 },
  'api.pdb.minAvailable': { type: ['integer', 'string'], pattern: '^[0-9]+%$', minimum: 0 },
  'operator.pdb.minAvailable': { type: ['integer', 'string'], pattern: '^[0-9]+%$', minimum: 0 },
  'api.replicaCount': { type: 'integer', minimum: 0 },
  'operator.replicaCount': { type: 'integer', minimum: 0 },
  'api.port': { type: 'integer', minimum: 1, maximum: 65535 },
  'operator.metricsPort': { type: 'integer', minimum: 1, maximum: 65535 },
  'api.metricsPort': { type: 'integer', minimum: 0, maximum: 65535 },
  'metrics.serviceMonitor.interval': { type: 'string', pattern: '^([0-9]+(ms|s|m|h))+$' },
  'metrics.serviceMonitor.scrapeTimeout': { type: 'string', pattern: '^([0-9]+(ms|s|m|h))+$' },
  'metrics.serviceMonitor.labels': { type: 'object', additionalProperties: { type: 'string' } },
  'metrics.prometheusRule.labels': { type: 'object', additionalProperties: { type: 'string' } },
  'metrics.prometheusRule.runbookBaseUrl': { type: 'string', pattern: '^(https?://.+)?$' },
  'metrics.prometheusRule.processingTooLongSeconds': { type: 'integer', minimum: 60 },
  'metrics.prometheusRule.failedVideos': { type: 'integer', minimum: 0 },
  'metrics.prometheusRule.failedVideosWindow': { type: 'string', pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$' },
  'metrics.prometheusRule.statusLagSeconds': { type: 'number', exclusiveMinimum: 0 },
  'metrics.prometheusRule.apiErrorRatio': { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  'metrics.dashboard.labels': { type: 'object', additionalProperties: { type: 'string' } },
  'metrics.dashboard.annotations': { type: 'object', additionalProperties: { type: 'string' } },
  'operator.workers': { type: 'integer', minimum: 1, maximum: 64 },
  'operator.mediaCheck.intervalSeconds': { type: 'integer', minimum: 0 },
  'operator.mediaCheck.perSecond': { type: 'number', exclusiveMinimum: 0 },
  'progress.intervalSeconds': { type: 'number', minimum: 0.1, maximum: 3600 },
  'progress.writeIntervalSeconds': { type: 'number', minimum: 1, maximum: 3600 },
  'progress.exchange': { type: 'string', minLength: 1, maxLength: 255 },
  'transcoder.backoffLimit': { type: 'integer', minimum: 0, maximum: 10 },
  'transcoder.runAsUser': { type: 'integer', minimum: 1 },
  'transcoder.runAsGroup': { type: 'integer', minimum: 1 },
  'transcoder.ttlSecondsAfterFinished': { type: ['integer', 'null'], minimum: 0 },
  'transcoder.segmentSeconds': { type: ['integer', 'null'], minimum: 1 },
  'api.publicUrl': { type: 'string', pattern: '^(https?://.+)?$' },
  'api.frontendUrl': { type: 'string', pattern: '^(https?://.+)?$' },
  'api.corsAllowedOrigins': { type: 'array', items: { type: 'string', pattern: '^https?://[^/*]+$' } },
  'api.csrfTrustedOrigins': { type: 'array', items: { type: 'string', pattern: '^https?://[^/*]+$' } },
  's3.endpoint': { type: 'string', pattern: '^(https?://.+)?$' },
  'transcoder.s3Endpoint': { type: 'string', pattern: '^(https?://.+)?$' },
  'maildev.ingress.path': { type: 'string', pattern: '^/[^/].*[^/]$' },
  'streaming.mode': { type: 'string', enum: ['auto', 'offload', 'proxy'] },
  'streaming.urlTtlSeconds': { type: 'integer', minimum: 60, maximum: 604800 },
  'streaming.hosts': {
    type: 'array',
    items: {
      type: 'string',
      pattern: '^[A-Za-z0-9.\\-]+(:[0-9]{1,5})?$|^\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?$',
    },
  },
  // NetworkPolicy peers (podSelector / namespaceSelector / ipBlock objects, passed through)
  ...Object.fromEntries(
    [
      'dns',
      'kubeApiServer.peers',
      'apiFrom',
      'maildevWebFrom',
      'mediaFrom',
      'metricsFrom',
      'external.database',
      'external.rabbitmq',
      'external.s3',
      'external.smtp',
    ].map((k) => [`networkPolicy.${k}`, { type: 'array', items: { type: 'object' } }]),
  ),
  'networkPolicy.kubeApiServer.ports': {
    type: 'array',
    items: { type: 'integer', minimum: 1, maximum: 65535 },
  },
  'componentCredentials.rabbitmq.api.username': { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
  'componentCredentials.rabbitmq.operator.username': { type: 'string', pattern: '^[A-Za-z0-9._-]+$' },
  'componentCredentials.rabbitmq.apiQueue': { type: 'string', minLength: 1 },
  'api.ingress.tls': {
    type: 'array',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['secretName'],
      properties: {
        secretName: { type: 'string', minLength: 1 },
        hosts: { type: 'array', items: { type: 'string' } },
      },
    },
  },
  'api.ingress.hosts': {
    type: 'array',
    minItems: 1,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['paths'],
      properties: {
        host: { type: 'string' },
        paths: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['path', 'pathType'],
            properties: {
              path: { type: 'string', pattern: '^/' },
              pathType: { type: 'string', enum: ['Prefix', 'Exact', 'ImplementationSpecific'] },
            },
          },
        },
      },
    },
  },
};
function infer(v, path, key) {
  if (special[path]) return special[path];
  if (key === 'pullPolicy') return imagePolicy;
  if (key === 'tag') return { type: 'string', minLength: 1 };
  if (key === 'repository') return { type: 'string', minLength: 1 };
  if (/[Pp]ort$/.test(key) && typeof v === 'number') return { type: 'integer', minimum: 1, maximum: 65535 };
  if (k8sLists.has(key)) return { type: 'array', items: { type: 'object' } };
  if (freeForm.has(key)) return { type: 'object' };
  if (v === null) return {};
  if (Array.isArray(v)) return { type: 'array', items: v.length ? infer(v[0], path + '[]', '') : {} };
  if (typeof v === 'object') {
    const properties = {};
    for (const [k, x] of Object.entries(v)) properties[k] = infer(x, path ? `${path}.${k}` : k, k);
    return { type: 'object', additionalProperties: false, properties };
  }
  if (typeof v === 'number')
    return Number.isInteger(v) ? { type: 'integer', minimum: 0 } : { type: 'number' };
  if (typeof v === 'boolean') return { type: 'boolean' };
  if (typeof v === 'string') {
    if (/(Size|size|sizeLimit|SizeLimit)$/.test(key))
      return { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?([EPTGMK]i?|[mk])?$' };
    return { type: 'string' };
  }
  throw new Error(path);
}
const root = infer(values, '', '');
root.properties.global.additionalProperties = true; // subcharts or umbrella charts may add globals
const schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'videoflix chart values',
  ...root,
};
writeFileSync(
  new URL('../charts/videoflix/values.schema.json', import.meta.url),
  JSON.stringify(schema, null, 2) + '\n',
);
