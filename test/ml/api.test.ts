// The README's "In code" example through the package root (built dist/index.js): an
// InferenceClient with a model, an infer, and the KServe routes on an App.
import { describe, expect, it } from 'vitest';
import * as conduit from '../../dist/index.js';

describe('models from the package root', () => {
  it('runs the README example', async () => {
    const { createServer, InferenceClient, serveKserve, writeMlp, seededMlp } = conduit;
    const client = new InferenceClient();
    try {
      await client.add({ name: 'clf', data: writeMlp(seededMlp([16, 4], 1)), options: { device: 'cpu' } }, { maxBatchSize: 64 });
      const out = await client.infer('clf', { input: { type: 'float32', data: new Float32Array(16), dims: [1, 16] } });
      expect(out.output.dims).toEqual([1, 4]);
      const app = createServer();
      serveKserve(app, client);
      const { port } = await app.listen({ port: 0 });
      const r = await fetch(`http://127.0.0.1:${port}/v2/models/clf`);
      expect((await r.json()).name).toBe('clf');
      await app.close();
    } finally {
      await client.close();
    }
    for (const name of ['OnnxModel', 'DynamicBatcher', 'ModelRegistry', 'InferenceService', 'parseInferRequest', 'TensorRequestError']) {
      expect(typeof (conduit as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
