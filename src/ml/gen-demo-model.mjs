// Writes build/demo.onnx, the model `conduit serve` serves as 'demo' with no config: a
// deterministic 16 → 32 → 4 MLP written by Conduit's own ONNX writer (nothing downloaded).
// Run by `npm run build` (after build:ts, which makes dist/).
import { writeFileSync, mkdirSync } from 'node:fs';
const { writeMlp, seededMlp } = await import(new URL('../../dist/ml/onnx-writer.js', import.meta.url).href);
const { DEMO_MODEL_SPEC } = await import(new URL('../../dist/app/load.js', import.meta.url).href);
mkdirSync(new URL('../../build/', import.meta.url), { recursive: true });
const bytes = writeMlp(seededMlp(DEMO_MODEL_SPEC.widths, DEMO_MODEL_SPEC.seed));
writeFileSync(new URL('../../build/demo.onnx', import.meta.url), bytes);
console.log(`build/demo.onnx: ${bytes.length} bytes`);
