/**
 * Configuration from the environment: one zod schema per component, parsed once at start.
 * A wrong setting stops the process with a message naming every bad variable (fail fast).
 */
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses `env` with `schema`; throws ConfigError listing every problem. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return result.data;
}

/** Exits the process with a clear message when configuration is wrong (for main.ts files). */
export function loadConfigOrExit<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  try {
    return loadConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** Helpers for env values, which are always strings. */
export const env = {
  str: (def?: string) => (def === undefined ? z.string().min(1) : z.string().min(1).default(def)),
  int: (def?: number) => (def === undefined ? z.coerce.number().int() : z.coerce.number().int().default(def)),
  port: (def?: number) =>
    def === undefined
      ? z.coerce.number().int().min(1).max(65535)
      : z.coerce.number().int().min(1).max(65535).default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: (def = '') =>
    z
      .string()
      .default(def)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
  url: (def?: string) => (def === undefined ? z.string().url() : z.string().url().default(def)),
};

/** S3-compatible object storage settings, shared by api, operator and transcoder. */
export const storageSchema = z.object({
  S3_ENDPOINT: env.url('http://127.0.0.1:7070'),
  S3_REGION: env.str('us-east-1'),
  S3_ACCESS_KEY: env.str(),
  S3_SECRET_KEY: env.str(),
  S3_SOURCE_BUCKET: env.str('videoflix-sources'),
  S3_MEDIA_BUCKET: env.str('videoflix-media'),
  /**
   * Longest silence on an S3 connection (no byte sent or received) before the request fails: a hung
   * or frozen server ends a request, an upload part or a streamed object within this time.
   */
  S3_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
});
export type StorageConfig = z.infer<typeof storageSchema>;

/** RabbitMQ settings shared by the operator (publisher) and the api (consumer). */
export const amqpSchema = z.object({
  AMQP_URL: env.str('amqp://guest:guest@127.0.0.1:5672'),
  AMQP_EXCHANGE: env.str('videoflix.video-status'),
  /** Bound on each step with the broker: connecting (TCP + AMQP handshake), declaring, a publish confirm. */
  AMQP_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
});
export type AmqpConfig = z.infer<typeof amqpSchema>;

export const loggingSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export { z };
