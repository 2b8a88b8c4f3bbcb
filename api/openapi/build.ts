/**
 * The OpenAPI 3.1 document generated from zod: every operation is declared once (method, path,
 * words, and zod schemas for its parameters, body and answers) and turned into JSON Schema by zod 4's
 * `z.toJSONSchema`. Request bodies are the very schemas the routes validate with; answers are zod
 * schemas of what the presenters return. Areas declare their operations next to their routers
 * (routes/auth/openapi.ts, routes/health/openapi.ts, catalog/openapi.ts).
 */
import { z } from 'zod';

export type Json = Record<string, unknown>;
type Method = 'get' | 'head' | 'post' | 'patch' | 'delete';

/** One answer: a description, and a body (a zod schema, or a `$ref` to a component) of a content type. */
export interface Reply {
  description: string;
  body?: z.ZodType | { $ref: string };
  /** Content type of the body (default application/json). */
  type?: string;
  headers?: Json;
}

export interface Operation {
  method: Method;
  /** OpenAPI form: `/api/video/{id}/master.m3u8`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  security?: Json[];
  /** Path parameters (each key of the object one parameter; `.describe()` is its description). */
  params?: z.ZodObject;
  /** Query parameters (optional ones are not required). */
  query?: z.ZodObject;
  body?: { schema: z.ZodType; type?: string; encoding?: Json; emailFields?: string[] };
  responses: Record<number, Reply>;
}

/** JSON Schema of a zod schema, as the document embeds it (no `$schema`). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  delete js.$schema;
  return js;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The shared error bodies: DRF's field errors and `{"detail"}`. */
export const components = {
  FieldErrors: z.record(z.string(), z.array(z.string())),
  Detail: z.object({ detail: z.string().meta({ examples: ['...'] }) }),
};
export const refs = { fieldErrors: ref('FieldErrors'), detail: ref('Detail') };

/** `{"detail": "<example>"}`, the body of most errors. */
export const detail = (example: string) => z.object({ detail: z.string().meta({ examples: [example] }) });

/** Binary content (a segment, a JPEG). */
export const binary = () => z.string().meta({ format: 'binary' });

function parameters(where: 'path' | 'query', shape: z.ZodObject | undefined): Json[] {
  if (!shape) return [];
  return Object.entries(shape.shape as Record<string, z.ZodType>).map(([name, s]) => {
    const { description, ...schema } = jsonSchema(s, 'input');
    const optional = s.safeParse(undefined).success;
    return {
      name,
      in: where,
      required: where === 'path' || !optional,
      schema,
      ...(description ? { description } : {}),
    };
  });
}

function reply(r: Reply): Json {
  const schema = !r.body ? undefined : '$ref' in r.body ? r.body : jsonSchema(r.body as z.ZodType);
  return {
    description: r.description,
    ...(r.headers ? { headers: r.headers } : {}),
    ...(schema ? { content: { [r.type ?? 'application/json']: { schema } } } : {}),
  };
}

function operation(op: Operation): Json {
  const params = [...parameters('path', op.params), ...parameters('query', op.query)];
  let requestBody: Json | undefined;
  if (op.body) {
    const js = jsonSchema(op.body.schema, 'input') as Json & { properties?: Record<string, Json> };
    for (const f of op.body.emailFields ?? []) if (js.properties?.[f]) js.properties[f].format = 'email';
    requestBody = {
      required: true,
      content: {
        [op.body.type ?? 'application/json']: {
          schema: js,
          ...(op.body.encoding ? { encoding: op.body.encoding } : {}),
        },
      },
    };
  }
  return {
    ...(op.tags ? { tags: op.tags } : {}),
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(op.security ? { security: op.security } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: Object.fromEntries(Object.entries(op.responses).map(([status, r]) => [status, reply(r)])),
  };
}

/** Operations → OpenAPI path items (several methods of one path share its item). */
export function pathItems(ops: Operation[]): Json {
  const paths: Record<string, Json> = {};
  for (const op of ops) (paths[op.path] ??= {})[op.method] = operation(op);
  return paths;
}

/** The whole document: info, servers, security schemes, shared components and the path items. */
export function buildDocument(o: { serverUrl: string; description: string; paths: Json }): Json {
  return {
    openapi: '3.1.0',
    info: { title: 'Videoflix API', version: '1.0.0', description: o.description },
    servers: [{ url: o.serverUrl }],
    components: {
      securitySchemes: {
        accessCookie: { type: 'apiKey', in: 'cookie', name: 'access_token' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: 'refresh_token' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
      schemas: Object.fromEntries(Object.entries(components).map(([name, s]) => [name, jsonSchema(s)])),
    },
    paths: o.paths,
  };
}
