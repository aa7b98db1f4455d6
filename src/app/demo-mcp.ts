// The MCP server `conduit serve` runs with no config: a few tools, a resource, a resource
// template and a prompt, enough to try every transport with a real client.

import { createMcpServer, type McpServer } from '../mcp/server.js';

const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason);
  const t = setTimeout(() => {
    signal.removeEventListener('abort', onAbort);
    resolve();
  }, ms);
  const onAbort = () => {
    clearTimeout(t);
    reject(signal.reason);
  };
  signal.addEventListener('abort', onAbort, { once: true });
});

export function demoMcpServer(): McpServer {
  const mcp = createMcpServer({
    name: 'conduit-demo', version: '0.1.0', title: 'Conduit demo',
    instructions: 'Demo tools: echo, add, slow_progress. Resource demo://readme, template demo://items/{id}, prompt greet.',
  });
  mcp.tool('echo', {
    description: 'Returns the message it is given.',
    inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'], additionalProperties: false },
    annotations: { readOnlyHint: true },
  }, (args) => args.message as string);
  mcp.tool('add', {
    description: 'Adds two numbers.',
    inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
    outputSchema: { type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'] },
    annotations: { readOnlyHint: true },
  }, (args) => ({ sum: (args.a as number) + (args.b as number) }));
  mcp.tool('slow_progress', {
    description: 'Sends `steps` progress notifications `delay_ms` apart, then returns.',
    inputSchema: {
      type: 'object',
      properties: { steps: { type: 'integer', minimum: 1, maximum: 1000 }, delay_ms: { type: 'integer', minimum: 0, maximum: 60000 } },
      required: ['steps', 'delay_ms'],
    },
  }, async (args, ctx) => {
    const steps = args.steps as number;
    for (let i = 1; i <= steps; i++) {
      await sleep(args.delay_ms as number, ctx.signal);
      ctx.progress(i, steps, `step ${i} of ${steps}`);
    }
    return `done after ${steps} steps`;
  });
  mcp.resource('demo://readme', { name: 'readme', title: 'About this server', mimeType: 'text/markdown' },
    () => '# Conduit demo\n\nTools: echo, add, slow_progress.\n');
  mcp.resourceTemplate('demo://items/{id}', { name: 'item', description: 'An item by id', mimeType: 'application/json' },
    (uri, { id }) => JSON.stringify({ id, uri }),
    { complete: { id: (value) => ['1', '2', '3', '10', '20'].filter((v) => v.startsWith(value)) } });
  mcp.prompt('greet', {
    description: 'A greeting for someone.',
    arguments: [{ name: 'name', description: 'Who to greet', required: true }],
    complete: { name: (value) => ['Ada', 'Alan', 'Grace'].filter((v) => v.toLowerCase().startsWith(value.toLowerCase())) },
  }, ({ name }) => `Please write a short, warm greeting for ${name}.`);
  return mcp;
}
