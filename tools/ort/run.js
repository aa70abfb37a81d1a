// ONNX Runtime oracle for the warboy test suite and benchmarks.
//
// usage: node run.js REQUEST.json
// The request names a model, its inputs (raw little-endian files) and what to do:
//   {"model": "m.onnx", "threads": 1, "mode": "run"|"bench", "warmup": 5, "iterations": 50,
//    "inputs": [{"name": "input", "dtype": "float32", "shape": [1,1,28,28], "file": "in0.bin"}],
//    "outdir": "/tmp/x"}
// "run" writes each output to OUTDIR/out_<i>.bin and prints a JSON description on stdout;
// "bench" prints {"latencies_ms": [...], "cpu_ms": [...]} for repeated runs on the same input:
// each run's wall time and the process CPU time (user + system, all threads:
// process.cpuUsage) it took.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const typed = {
  float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int32: Int32Array,
  int64: BigInt64Array, float64: Float64Array, bool: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  float16: Uint16Array, // IEEE half bits, as numpy's float16 writes them
};

function loadInput(inp) {
  const buf = fs.readFileSync(inp.file);
  const T = typed[inp.dtype];
  if (!T) throw new Error(`input ${inp.name}: unsupported dtype ${inp.dtype}`);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return new ort.Tensor(inp.dtype, new T(ab), inp.shape);
}

async function main() {
  const req = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const opts = {
    intraOpNumThreads: req.threads || 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: req.optimization || 'all',
  };
  // "save_optimized": write the graph ONNX Runtime optimized (as a user's
  // optimized_model_filepath does) and stop; scripts/unseen11_models.py uses it.
  if (req.save_optimized) {
    opts.optimizedModelFilePath = req.save_optimized;
    await ort.InferenceSession.create(req.model, opts);
    return;
  }
  const sess = await ort.InferenceSession.create(req.model, opts);
  const feeds = {};
  for (const inp of req.inputs) feeds[inp.name] = loadInput(inp);
  if (req.mode === 'bench') {
    for (let i = 0; i < (req.warmup || 5); i++) await sess.run(feeds);
    const lat = [];
    const cpu = [];
    for (let i = 0; i < (req.iterations || 50); i++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await sess.run(feeds);
      lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e3);
    }
    process.stdout.write(JSON.stringify({ latencies_ms: lat, cpu_ms: cpu }) + '\n');
    return;
  }
  const res = await sess.run(feeds);
  const outs = [];
  let i = 0;
  for (const name of sess.outputNames) {
    const t = res[name];
    const file = path.join(req.outdir, `out_${i++}.bin`);
    const d = t.data;
    fs.writeFileSync(file, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    outs.push({ name, dtype: t.type, shape: t.dims.map(Number), file });
  }
  process.stdout.write(JSON.stringify({ outputs: outs }) + '\n');
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
