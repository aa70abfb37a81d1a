package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// poolQParamsFlag is --pool-qparams, shared by every command that loads a quantized
// model to run, compare, price or inspect it (run, eval, compare, sim, inspect, bench
// cpu): how an average pool runs when the file reads it from a quantized tensor and
// leaves its output unquantized, as PyTorch's eager-QAT exports do (graph.PoolQParams).
type poolQParamsFlag struct{ p graph.PoolQParams }

func (f *poolQParamsFlag) String() string {
	if f == nil || f.p == "" {
		return string(graph.PoolQParamsFile)
	}
	return string(f.p)
}

func (f *poolQParamsFlag) Set(s string) error {
	p, err := graph.ParsePoolQParams(s)
	if err != nil {
		return err
	}
	f.p = p
	return nil
}

// addPoolQParamsFlag registers --pool-qparams on fs.
func addPoolQParamsFlag(fs *flag.FlagSet) *poolQParamsFlag {
	f := &poolQParamsFlag{p: graph.PoolQParamsFile}
	fs.Var(f, "pool-qparams", "an average pool on a quantized input whose output the model leaves unquantized (PyTorch QAT exports): "+
		"file (as the model says: the exact average; it and what it feeds up to the next QuantizeLinear run float32) or "+
		"input (its input's scale and zero point, as PyTorch's convert does: it and its readers run int8)")
	return f
}

// apply returns m as the flag says and tells stderr which pools took their input's
// quantization (m itself when nothing changed).
func (f *poolQParamsFlag) apply(m *graph.Model, stderr io.Writer) *graph.Model {
	if f == nil || f.p != graph.PoolQParamsInput {
		return m
	}
	out, pools := f.p.Apply(m)
	if len(pools) == 0 {
		fmt.Fprintln(stderr, "note: --pool-qparams input: no average pool reads a quantized tensor and leaves its output unquantized; the model runs as written")
		return m
	}
	fmt.Fprintf(stderr, "note: --pool-qparams input: %s quantized on %s input's scale and zero point (PyTorch's convert)\n",
		strings.Join(pools, ", "), map[bool]string{true: "its", false: "their"}[len(pools) == 1])
	return out
}
