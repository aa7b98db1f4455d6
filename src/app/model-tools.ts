// Served models as MCP tools: `infer_<model>` for each, so an agent can call a model
// through MCP. The tool takes row-major values (and optionally a shape and the input's
// name); the result is the output tensors as structuredContent.

import type { InferenceClient, ModelMetadata } from '../ml/inference.js';
import { typedArrayOf } from '../ml/model.js';
import type { McpServer } from '../mcp/server.js';


/** Registers `infer_<name>` on the MCP server for each model. */
export function modelsAsTools(mcp: McpServer, client: InferenceClient, models: string[]): void {
  const meta = new Map<string, Promise<ModelMetadata>>();
  const metadataOf = (name: string) => {
    let p = meta.get(name);
    if (p === undefined) {
      p = client.metadata(name);
      p.catch(() => meta.delete(name));
      meta.set(name, p);
    }
    return p;
  };
  for (const name of models) {
    const tool = `infer_${name.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 128);
    mcp.tool(tool, {
      title: `Run model ${name}`,
      description: `Runs the ONNX model '${name}'. Give its input as row-major numbers in 'data' (rows of the model's input width); 'shape' and 'input' are optional. Returns every output tensor.`,
      inputSchema: {
        type: 'object',
        properties: {
          data: { type: 'array', items: { type: 'number' }, minItems: 1, description: 'Row-major input values' },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 }, description: 'Input shape (default: [rows, width])' },
          input: { type: 'string', description: "The input's name (default: the model's first input)" },
        },
        required: ['data'],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, idempotentHint: true },
    }, async (args, ctx) => {
      const m = await metadataOf(name);
      const spec = args.input === undefined ? m.inputs[0] : m.inputs.find((i) => i.name === args.input);
      if (spec === undefined) throw new Error(`model ${name} has no input ${String(args.input)} (inputs: ${m.inputs.map((i) => i.name).join(', ')})`);
      const data = args.data as number[];
      let shape = args.shape as number[] | undefined;
      if (shape === undefined) {
        const width = spec.shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
        if (data.length % width !== 0) throw new Error(`${data.length} values are not whole rows of ${width}`);
        shape = [data.length / width, ...spec.shape.slice(1).map((d) => d ?? 1)];
      }
      const Ctor = typedArrayOf(spec.type);
      if (Ctor === undefined || spec.type === 'int64' || spec.type === 'uint64' || spec.type === 'bool' || spec.type === 'float16') {
        throw new Error(`input ${spec.name} is ${spec.type}: not supported through MCP`);
      }
      const out = await client.infer(name, { [spec.name]: { type: spec.type, data: (Ctor as typeof Float32Array).from(data), dims: shape } }, { signal: ctx.signal });
      const outputs = Object.entries(out).map(([o, t]) => ({ name: o, shape: t.dims, data: Array.from(t.data as ArrayLike<number>) }));
      return { outputs };
    });
  }
}
