// The tools, resources and prompts the official MCP conformance suite
// (@modelcontextprotocol/conformance 0.1.16 and 0.2.0-alpha.12, `server --suite all`) calls,
// written against Conduit's MCP API. Run it as a user would:
//   conduit serve --config test/mcp/conformance-app.ts --port 3000
// (It imports the built package, dist/: a config is loaded by the CLI, not by vitest.)
import { createMcpServer, McpError, type RequestContext } from '../../dist/index.js';

// A 1×1 PNG, and a WAV of 8 silent samples (44-byte RIFF header + data), both base64.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
function wav(): string {
  const samples = 8;
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples * 2, 40);
  return b.toString('base64');
}
const WAV = wav();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const none = { type: 'object', properties: {} } as const;

export const mcp = createMcpServer({ name: 'conduit-conformance', version: '1.0.0' });

mcp.tool('test_simple_text', { description: 'Returns a simple text response', inputSchema: none },
  () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] }));

mcp.tool('test_image_content', { description: 'Returns an image', inputSchema: none },
  () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }));

mcp.tool('test_audio_content', { description: 'Returns audio', inputSchema: none },
  () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }));

mcp.tool('test_embedded_resource', { description: 'Returns an embedded resource', inputSchema: none },
  () => ({ content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }] }));

mcp.tool('test_multiple_content_types', { description: 'Returns text, an image and a resource', inputSchema: none },
  () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
    ],
  }));

mcp.tool('test_tool_with_logging', { description: 'Sends three log messages while it runs', inputSchema: none }, async (_a, ctx: RequestContext) => {
  ctx.log('info', 'Tool execution started');
  await sleep(50);
  ctx.log('info', 'Tool processing data');
  await sleep(50);
  ctx.log('info', 'Tool execution completed');
  return 'Tool with logging executed successfully';
});

mcp.tool('test_tool_with_progress', { description: 'Sends progress 0, 50, 100 of 100', inputSchema: none }, async (_a, ctx: RequestContext) => {
  ctx.progress(0, 100);
  await sleep(50);
  ctx.progress(50, 100, 'Completed step 50 of 100');
  await sleep(50);
  ctx.progress(100, 100, 'Completed step 100 of 100');
  return String(ctx.meta?.progressToken ?? 'no token');
});

mcp.tool('test_error_handling', { description: 'Always fails (a tool error, not a protocol error)', inputSchema: none }, () => {
  throw new Error('This tool intentionally returns an error for testing');
});

mcp.tool('test_sampling', {
  description: 'Asks the client to sample an LLM',
  inputSchema: { type: 'object', properties: { prompt: { type: 'string', description: 'The prompt' } }, required: ['prompt'] },
}, async ({ prompt }, ctx: RequestContext) => {
  const r = await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 });
  const content = r.content as { type?: string; text?: string };
  return `LLM response: ${content?.type === 'text' ? content.text : JSON.stringify(content)}`;
});

mcp.tool('test_elicitation', {
  description: 'Asks the user for information',
  inputSchema: { type: 'object', properties: { message: { type: 'string', description: 'What to ask' } }, required: ['message'] },
}, async ({ message }, ctx: RequestContext) => {
  const r = await ctx.elicit({
    message,
    requestedSchema: {
      type: 'object',
      properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
      required: ['username', 'email'],
    },
  });
  return `User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`;
});

mcp.tool('test_elicitation_sep1034_defaults', { description: 'Elicitation with default values (SEP-1034)', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const r = await ctx.elicit({
    message: 'Please review and update the form fields with defaults',
    requestedSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'User name', default: 'John Doe' },
        age: { type: 'integer', description: 'User age', default: 30 },
        score: { type: 'number', description: 'User score', default: 95.5 },
        status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
        verified: { type: 'boolean', description: 'Verification status', default: true },
      },
      required: [],
    },
  });
  return `Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`;
});

mcp.tool('test_elicitation_sep1330_enums', { description: 'Elicitation with every enum form (SEP-1330)', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const r = await ctx.elicit({
    message: 'Please select options from the enum fields',
    requestedSchema: {
      type: 'object',
      properties: {
        untitledSingle: { type: 'string', description: 'Select one option', enum: ['option1', 'option2', 'option3'] },
        titledSingle: {
          type: 'string', description: 'Select one option with titles',
          oneOf: [{ const: 'value1', title: 'First Option' }, { const: 'value2', title: 'Second Option' }, { const: 'value3', title: 'Third Option' }],
        },
        legacyEnum: { type: 'string', description: 'Select one option (legacy)', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
        untitledMulti: { type: 'array', description: 'Select multiple options', minItems: 1, maxItems: 3, items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
        titledMulti: {
          type: 'array', description: 'Select multiple options with titles', minItems: 1, maxItems: 3,
          items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' }, { const: 'value3', title: 'Third Choice' }] },
        },
      },
      required: [],
    },
  });
  return `Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`;
});

mcp.tool('json_schema_2020_12_tool', {
  description: 'Tool with JSON Schema 2020-12 features',
  inputSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
    properties: {
      name: { type: 'string' }, address: { $ref: '#/$defs/address' }, contactMethod: { type: 'string', enum: ['phone', 'email'] },
      phone: { type: 'string' }, email: { type: 'string' },
    },
    allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
    if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
    then: { required: ['phone'] },
    else: { required: ['email'] },
    additionalProperties: false,
  },
}, (args) => `Received: ${JSON.stringify(args)}`);

// SEP-1699: the answer's stream is closed (after its priming event, which carries retry:)
// before the result; the client resumes with GET + Last-Event-ID and gets the result.
mcp.tool('test_reconnection', { description: 'Closes its SSE stream before answering (SSE polling, SEP-1699)', inputSchema: none }, async (_a, ctx: RequestContext) => {
  ctx.closeStream();
  await sleep(100);
  return 'Reconnection test completed successfully. The result was delivered after the client reconnected.';
});

mcp.resource('test://static-text', { name: 'static-text', description: 'A static text resource', mimeType: 'text/plain' },
  () => 'This is the content of the static text resource.');
mcp.resource('test://static-binary', { name: 'static-binary', description: 'A static binary resource (PNG)', mimeType: 'image/png' },
  () => Buffer.from(PNG, 'base64'));
mcp.resource('test://watched-resource', { name: 'watched-resource', description: 'A resource clients can subscribe to', mimeType: 'text/plain' },
  () => 'Watched resource content');
mcp.resourceTemplate('test://template/{id}/data', { name: 'template', description: 'Data by id', mimeType: 'application/json' },
  (_uri, { id }) => JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
  { complete: { id: (value) => ['1', '2', '3', '123'].filter((v) => v.startsWith(value)) } });

mcp.prompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => 'This is a simple prompt for testing.');
mcp.prompt('test_prompt_with_arguments', {
  description: 'A prompt with two required arguments',
  arguments: [{ name: 'arg1', description: 'First argument', required: true }, { name: 'arg2', description: 'Second argument', required: true }],
  complete: { arg1: (value) => ['paris', 'park', 'party'].filter((v) => v.startsWith(value)) },
}, ({ arg1, arg2 }) => `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`);
mcp.prompt('test_prompt_with_embedded_resource', {
  description: 'A prompt with an embedded resource',
  arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
}, ({ resourceUri }) => ({
  messages: [
    { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
    { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
  ],
}));
mcp.prompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => ({
  messages: [
    { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
    { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
  ],
}));

// ── 2026-07-28 (stateless): input_required rounds, written once for both eras ─────────
// On a 2025 session, ctx.elicit / ctx.sample / ctx.listRoots are requests to the client; on
// a 2026 request, input_required rounds under the given keys (the handler runs again with
// the answers).
const nameSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
const text = (t: string) => ({ content: [{ type: 'text', text: t }] });

mcp.tool('test_input_required_result_elicitation', { description: 'Asks for a name (elicitation), then greets', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const r = await ctx.elicit({ message: 'What is your name?', requestedSchema: nameSchema }, { key: 'user_name' });
  return text(`Hello, ${String((r.content as { name?: string } | undefined)?.name ?? 'stranger')}!`);
});
mcp.tool('test_input_required_result_sampling', { description: 'Asks the client to sample an answer', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const r = await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }], maxTokens: 100 }, { key: 'capital_question' });
  return text(String((r.content as { text?: string } | undefined)?.text ?? ''));
});
mcp.tool('test_input_required_result_list_roots', { description: "Asks for the client's roots", inputSchema: none }, async (_a, ctx: RequestContext) => {
  const r = await ctx.listRoots({ key: 'client_roots' });
  return text(`Roots: ${(r.roots as Array<{ uri: string }>).map((x) => x.uri).join(', ')}`);
});
mcp.tool('test_input_required_result_request_state', { description: 'One round; the sealed requestState is checked', inputSchema: none }, async (_a, ctx: RequestContext) => {
  await ctx.elicit({ message: 'Please confirm', requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } }, { key: 'confirm' });
  return text('state-ok: the requestState was validated');
});
mcp.tool('test_input_required_result_multiple_inputs', { description: 'Elicitation, sampling and roots in one round', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const [who, greeting, roots] = await Promise.all([
    ctx.elicit({ message: 'What is your name?', requestedSchema: nameSchema }, { key: 'user_name' }),
    ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }], maxTokens: 50 }, { key: 'greeting' }),
    ctx.listRoots({ key: 'client_roots' }),
  ]);
  return text(`${JSON.stringify(who.content)} ${JSON.stringify(greeting.content)} ${(roots.roots as unknown[]).length} roots`);
});
mcp.tool('test_input_required_result_multi_round', { description: 'Two rounds, one after the other', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const a = await ctx.elicit({ message: 'Step 1: What is your name?', requestedSchema: nameSchema }, { key: 'step1' });
  const b = await ctx.elicit({ message: 'Step 2: What is your favorite color?', requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }, { key: 'step2' });
  return text(`${JSON.stringify(a.content)} likes ${JSON.stringify(b.content)}`);
});
mcp.tool('test_input_required_result_tampered_state', { description: 'One round (the suite tampers with the state)', inputSchema: none }, async (_a, ctx: RequestContext) => {
  await ctx.elicit({ message: 'Please confirm', requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } } } }, { key: 'confirm' });
  return text('done');
});
mcp.tool('test_input_required_result_capabilities', { description: 'Asks only for what the client declared', inputSchema: none }, async (_a, ctx: RequestContext) => {
  const caps = ctx.clientCapabilities;
  const asks: Array<Promise<unknown>> = [];
  if (caps.sampling !== undefined) asks.push(ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'Say hi' } }], maxTokens: 20 }, { key: 'sampled' }));
  if (caps.elicitation !== undefined) asks.push(ctx.elicit({ message: 'Your name?', requestedSchema: nameSchema }, { key: 'elicited' }));
  await Promise.all(asks);
  return text(`asked ${asks.length}`);
});
mcp.prompt('test_input_required_result_prompt', { description: 'A prompt that asks for context first' }, async (_a, ctx: RequestContext) => {
  const r = await ctx.elicit({ message: 'What context should the prompt use?', requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] } }, { key: 'user_context' });
  return `Use this context: ${String((r.content as { context?: string } | undefined)?.context ?? '')}`;
});
// SEP-2575 diagnostics: a capability the client may not have declared; a stream that must
// not carry requests; logs that must not flow without logLevel.
mcp.tool('test_missing_capability', { description: 'Needs sampling: -32021 when the client did not declare it', inputSchema: none }, async (_a, ctx: RequestContext) => {
  await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'Needs sampling' } }], maxTokens: 10 }, { key: 'needed' });
  return text('had it');
});
mcp.tool('test_streaming_elicitation', { description: 'Logs, then asks for input: the stream carries no request', inputSchema: none }, async (_a, ctx: RequestContext) => {
  ctx.log('info', 'about to ask');
  await ctx.elicit({ message: 'Continue?', requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } } } }, { key: 'continue' });
  return text('continued');
});
mcp.tool('test_logging_tool', { description: 'Logs three lines (only when the request set logLevel)', inputSchema: none }, async (_a, ctx: RequestContext) => {
  for (const line of ['one', 'two', 'three']) ctx.log('info', line);
  await sleep(20);
  return text('logged');
});
// SEP-2243: an argument mirrored into a header (Mcp-Param-Region).
mcp.tool('test_x_mcp_header', {
  description: 'Echoes its region, which also travels in the Mcp-Param-Region header',
  inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' } }, required: ['region'] },
}, (a) => text(`region ${String(a.region)}`));
// subscriptions/listen diagnostics: each call adds or removes a tool / prompt (list_changed).
let toggled = false;
mcp.tool('test_trigger_tool_change', { description: 'Adds or removes a tool (tools/list_changed)', inputSchema: none }, () => {
  toggled = !toggled;
  if (toggled) mcp.tool('test_dynamic_tool', { description: 'Comes and goes', inputSchema: none }, () => text('dynamic'));
  else mcp.removeTool('test_dynamic_tool');
  return text(toggled ? 'added test_dynamic_tool' : 'removed test_dynamic_tool');
});
let promptToggled = false;
mcp.tool('test_trigger_prompt_change', { description: 'Adds or removes a prompt (prompts/list_changed)', inputSchema: none }, () => {
  promptToggled = !promptToggled;
  if (promptToggled) mcp.prompt('test_dynamic_prompt', { description: 'Comes and goes' }, () => 'dynamic');
  else mcp.removePrompt('test_dynamic_prompt');
  return text(promptToggled ? 'added test_dynamic_prompt' : 'removed test_dynamic_prompt');
});

// ── the tasks extension (SEP-2663) fixtures ───────────────────────────────────────────
const seconds = { type: 'object', properties: { seconds: { type: 'number' } } };
mcp.tool('greet', { description: 'Sync only', inputSchema: { type: 'object', properties: { name: { type: 'string' } } } },
  (a) => text(`Hello, ${String(a.name ?? 'world')}!`));
mcp.tool('slow_compute', { description: 'Sleeps `seconds`, then answers (a task when the client takes them)', inputSchema: seconds, execution: { taskSupport: 'optional' } },
  async (a, ctx: RequestContext) => {
    const ms = Number(a.seconds ?? 1) * 1000;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(ctx.signal.reason);
      }, { once: true });
    });
    return text(`computed after ${ms} ms`);
  });
mcp.tool('failing_job', { description: 'A tool error after ~1 s (task required)', inputSchema: none, execution: { taskSupport: 'required' } }, async () => {
  await sleep(1000);
  throw new Error('the job failed');
});
mcp.tool('protocol_error_job', { description: 'Fails with a protocol error', inputSchema: none, execution: { taskSupport: 'optional' } }, async () => {
  await sleep(50);
  throw new McpError(-32603, 'internal failure in the job');
});
mcp.tool('confirm_delete', { description: 'Asks for confirmation inside its task', inputSchema: none, execution: { taskSupport: 'optional' } }, async (_a, ctx: RequestContext) => {
  const r = await ctx.elicit({ message: 'Delete it?', requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] } }, { key: 'confirm' });
  return text(`deleted: ${JSON.stringify(r.content)}`);
});
mcp.tool('multi_input', { description: 'Two asks at once inside its task', inputSchema: none, execution: { taskSupport: 'optional' } }, async (_a, ctx: RequestContext) => {
  const [a, b] = await Promise.all([
    ctx.elicit({ message: 'First?', requestedSchema: { type: 'object', properties: { v: { type: 'string' } } } }, { key: 'first' }),
    ctx.elicit({ message: 'Second?', requestedSchema: { type: 'object', properties: { v: { type: 'string' } } } }, { key: 'second' }),
  ]);
  return text(`${JSON.stringify(a.content)} ${JSON.stringify(b.content)}`);
});
mcp.tool('test_tool_with_task', { description: 'Input rounds first, then a task', inputSchema: none, execution: { taskSupport: 'required' } }, async (_a, ctx: RequestContext) => {
  const r = await ctx.elicit({ message: 'What is your name?', requestedSchema: nameSchema }, { key: 'user_name' });
  await sleep(200);
  return text(`Hello, ${String((r.content as { name?: string } | undefined)?.name)}! (from the task)`);
});
