// Loads a model in ONNX Runtime at one graph optimisation level and says whether the
// session could be created (no inputs needed): the check behind docs/models.md, "ORT
// loads every file we write".
//
// usage: node tools/ort/load.js MODEL.onnx [disabled|basic|extended|all] [--verbose]
// Prints "OK" or "FAIL <ONNX Runtime's message>"; --verbose turns on ONNX Runtime's
// verbose log (which graph transformers ran and what they changed) on stderr.
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const pos = args.filter((a) => a !== '--verbose');
  const opts = { graphOptimizationLevel: pos[1] || 'all', intraOpNumThreads: 1 };
  if (verbose) {
    opts.logSeverityLevel = 0;
    opts.logVerbosityLevel = 0;
  }
  try {
    await ort.InferenceSession.create(pos[0], opts);
    process.stdout.write('OK\n');
  } catch (e) {
    process.stdout.write('FAIL ' + String((e && e.message) || e).split('\n')[0] + '\n');
    process.exitCode = 1;
  }
}

main();
