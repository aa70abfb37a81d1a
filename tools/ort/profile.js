// Per-operator profile of ONNX Runtime on one model, for comparing with the
// float32 executor's per-step profile (go test ./runtime -run
// TestExportedStepScaling).
//
// usage: node profile.js MODEL.onnx [THREADS] [RUNS]
// It runs the model RUNS times (default 60) on a fixed input in [-1, 1) with
// ORT's profiler on, drops the first 10 runs, and prints per node the minimum
// and median kernel time in microseconds, then the medians summed per
// operator type. The profile file is written to the system's temp directory
// and removed.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');


function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  const [model, threads = '1', runs = '60'] = process.argv.slice(2);
  if (!model) throw new Error('usage: node profile.js MODEL.onnx [THREADS] [RUNS]');
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-')), 'p');
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: +threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix,
  });
  const meta = sess.inputMetadata ? sess.inputMetadata[0] : null;
  const dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)) : [1, 3, 224, 224];
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 2001) / 1000 - 1;
  const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x, dims) };
  for (let i = 0; i < +runs; i++) await sess.run(feeds);
  if (sess.endProfiling) await sess.endProfiling();
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
  if (!file) throw new Error('onnxruntime wrote no profile');
  const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  fs.rmSync(dir, { recursive: true });
  const times = new Map();
  const ops = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!times.has(name)) times.set(name, []);
    times.get(name).push(e.dur);
    ops.set(name, [e.args.op_name, JSON.stringify(e.args.output_type_shape || '')]);
  }
  let total = 0;
  const byType = new Map();
  for (const [name, d] of times) {
    const t = d.slice(10);
    if (t.length === 0) continue;
    const med = median(t);
    total += med;
    const [op, shape] = ops.get(name);
    byType.set(op, (byType.get(op) || 0) + med);
    console.log(`${name.slice(0, 48).padEnd(48)} ${op.padEnd(20)} min ${String(Math.min(...t)).padStart(6)} med ${String(med).padStart(6)} ${shape}`);
  }
  console.log(`sum of medians: ${total.toFixed(0)} us`);
  for (const [op, v] of [...byType].sort((a, b) => b[1] - a[1])) console.log(`${op.padEnd(22)} ${v.toFixed(0)} us`);
}

main().catch((e) => { process.stderr.write(String((e && e.stack) || e) + '\n'); process.exit(1); });
