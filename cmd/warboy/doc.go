// Command warboy is the toolchain's single command-line tool: it inspects, runs,
// evaluates, quantizes, edits and compares ONNX models, simulates them on the Warboy
// NPU and benchmarks the CPU paths. Every subcommand has --help, and --json for
// machine-readable output (documented in docs/cli.md).
package main
