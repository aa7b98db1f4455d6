// Tool and prompt argument schemas: zod v4 schemas (or a zod raw shape, as the SDK takes)
// and plain JSON Schema 2020-12 objects, compiled once at registration. A JSON Schema is
// kept verbatim for tools/list and validated by ajv (loaded on first use); a zod schema
// validates itself and describes itself with its own toJSONSchema() (no import of zod).

import { createRequire } from 'node:module';
import { ConduitError, ErrorCodes } from '../errors.js';

export type JsonSchema = Record<string, unknown>;

/** The zod v4 surface used (structural, so any zod v4 copy the app has will do). */
interface ZodLike {
  safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
  toJSONSchema?(options?: unknown): JsonSchema;
  _zod?: unknown;
}

/** A compiled schema: its JSON Schema form (for listing) and a validator. */
export interface CompiledSchema {
  readonly json: JsonSchema;
  /** null when valid (with the value the schema produced: zod applies defaults), else the problem. */
  check(value: unknown): { ok: true; value: unknown } | { ok: false; message: string };
}

const isZod = (s: unknown): s is ZodLike => s !== null && typeof s === 'object' && typeof (s as ZodLike).safeParse === 'function' && '_zod' in (s as object);

let ajv: { compile(s: JsonSchema): AjvValidate } | null = null;
let ajv07: { compile(s: JsonSchema): AjvValidate } | null = null;
interface AjvValidate {
  (v: unknown): boolean;
  errors?: Array<{ instancePath: string; message?: string; params?: Record<string, unknown> }> | null;
}

/**
 * The validator for a schema's dialect: JSON Schema 2020-12 (the default, MCP's), or
 * draft-07 / draft-06 for a schema that says so in $schema (what SDK-era tools emit).
 */
function getAjv(json: JsonSchema): NonNullable<typeof ajv> {
  const dialect = typeof json.$schema === 'string' ? json.$schema : '';
  const old = /draft-0[67]\/schema/.test(dialect);
  if (!old && ajv !== null) return ajv;
  if (old && ajv07 !== null) return ajv07;
  const require = createRequire(import.meta.url);
  const addFormats = require('ajv-formats') as { default: (a: unknown) => void };
  // strict: false — MCP schemas carry keywords of their own (x-mcp-header, ...).
  const options = { strict: false, allErrors: false, validateSchema: true };
  if (old) {
    const Ajv = require('ajv') as { default: new (o: object) => NonNullable<typeof ajv> & { addMetaSchema(s: unknown): void } };
    const a = new Ajv.default(options);
    a.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
    addFormats.default(a);
    return (ajv07 = a);
  }
  const Ajv2020 = require('ajv/dist/2020.js') as { default: new (o: object) => NonNullable<typeof ajv> };
  const a = new Ajv2020.default(options);
  addFormats.default(a);
  return (ajv = a);
}

function zodIssues(issues: Array<{ path: PropertyKey[]; message: string }>): string {
  return issues.map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

function fromZod(z: ZodLike, what: string): CompiledSchema {
  if (typeof z.toJSONSchema !== 'function') {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `${what}: a zod schema needs zod v4 (toJSONSchema), or pass a JSON Schema object`);
  }
  const json = z.toJSONSchema({ target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return {
    json,
    check(value) {
      const r = z.safeParse(value);
      return r.success ? { ok: true, value: r.data } : { ok: false, message: zodIssues(r.error.issues) };
    },
  };
}

/** A zod raw shape ({ a: z.string() }): an object schema built field by field. */
function fromShape(shape: Record<string, ZodLike>, what: string): CompiledSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const fields = Object.entries(shape);
  for (const [k, z] of fields) {
    if (typeof z.toJSONSchema !== 'function') throw new ConduitError(ErrorCodes.INVALID_OPTION, `${what}: field '${k}' needs zod v4`);
    const { $schema: _, ...rest } = z.toJSONSchema({ target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
    properties[k] = rest;
    if (!z.safeParse(undefined).success) required.push(k);
  }
  const json: JsonSchema = { type: 'object', properties };
  if (required.length > 0) json.required = required;
  return {
    json,
    check(value) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, message: 'arguments must be an object' };
      const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const problems: string[] = [];
      for (const [k, z] of fields) {
        const r = z.safeParse((value as Record<string, unknown>)[k]);
        if (r.success) {
          if (r.data !== undefined) out[k] = r.data;
        } else problems.push(r.error.issues.map((i) => `${[k, ...i.path.map(String)].join('.')}: ${i.message}`).join('; '));
      }
      return problems.length === 0 ? { ok: true, value: out } : { ok: false, message: problems.join('; ') };
    },
  };
}

function fromJsonSchema(json: JsonSchema, what: string): CompiledSchema {
  let validate: AjvValidate;
  try {
    validate = getAjv(json).compile(json);
  } catch (e) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `${what}: invalid JSON Schema: ${(e as Error).message}`);
  }
  return {
    json,
    check(value) {
      if (validate(value)) return { ok: true, value };
      const e = validate.errors?.[0];
      const where = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
      const extra = e?.params?.additionalProperty !== undefined ? ` '${String(e.params.additionalProperty)}'` : '';
      return { ok: false, message: `${where ? `${where}: ` : ''}${e?.message ?? 'invalid'}${extra}` };
    },
  };
}

/**
 * Compiles a schema given to tool() / prompt(): a zod v4 schema, a zod raw shape, or a
 * JSON Schema object (kept verbatim). Throws CONDUIT_ERR_INVALID_OPTION when it is none
 * of these, or when the JSON Schema does not compile.
 */
export function compileSchema(schema: unknown, what: string, requireObject = true): CompiledSchema {
  if (isZod(schema)) {
    const compiled = fromZod(schema, what);
    if (requireObject && compiled.json.type !== 'object') {
      throw new ConduitError(ErrorCodes.INVALID_OPTION, `${what} must describe an object (z.object(...)), got ${JSON.stringify(compiled.json.type)}`);
    }
    return compiled;
  }
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `${what} must be a JSON Schema object or a zod schema`);
  }
  const values = Object.values(schema);
  if (values.length > 0 && values.every(isZod)) return fromShape(schema as Record<string, ZodLike>, what);
  const json = schema as JsonSchema;
  if (requireObject && json.type !== 'object') {
    throw new ConduitError(ErrorCodes.INVALID_OPTION, `${what} must describe an object ("type": "object"), got ${JSON.stringify(json.type)}`);
  }
  return fromJsonSchema(json, what);
}
