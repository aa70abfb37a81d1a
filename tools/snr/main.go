// Command snr compares a model with its int8 file on one input, output by
// output, as signal-to-noise ratios in dB (10·log10(Σ ref² / Σ (ref − x)²)):
// ours int8 against ours float32, ours int8 against ONNX Runtime on the same
// int8 file, and ONNX Runtime's int8 against its float32. Both executors run
// at one thread; ONNX Runtime through the test oracle (make ort).
//
//	go run ./tools/snr FLOAT.onnx INT8.onnx INPUT.npz
package main

import (
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/ortoracle"
	"github.com/warboy-sim/warboy/runtime"
)

func snr(want, got []float32) float64 {
	var s, n float64
	for i, w := range want {
		d := float64(w) - float64(got[i])
		s, n = s+float64(w)*float64(w), n+d*d
	}
	return 10 * math.Log10(s/n)
}

func ours(path string, mode runtime.Mode, x map[string]*graph.Tensor) (map[string]*graph.Tensor, error) {
	m, err := graph.Load(path)
	if err != nil {
		return nil, err
	}
	s, err := runtime.NewSession(m, runtime.WithMode(mode), runtime.WithThreads(1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s.RunTensors(x)
}

func run() error {
	if len(os.Args) != 4 {
		return fmt.Errorf("usage: snr FLOAT.onnx INT8.onnx INPUT.npz")
	}
	fm, qm, in := os.Args[1], os.Args[2], os.Args[3]
	x, err := dataset.ReadNPZ(in)
	if err != nil {
		return err
	}
	f, err := ours(fm, runtime.ModeFloat, x)
	if err != nil {
		return err
	}
	q, err := ours(qm, runtime.ModeInt8, x)
	if err != nil {
		return err
	}
	ortQ, err := ortoracle.Run(qm, x, 1)
	if err != nil {
		return fmt.Errorf("ONNX Runtime on %s: %w", qm, err)
	}
	ortF, err := ortoracle.Run(fm, x, 1)
	if err != nil {
		return fmt.Errorf("ONNX Runtime on %s: %w", fm, err)
	}
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if q[name] == nil || ortQ[name] == nil || ortF[name] == nil || f[name].DType != graph.Float32 {
			continue
		}
		fmt.Printf("%s: int8 vs float32 %.1f dB; ours int8 vs ONNX Runtime on the int8 file %.1f dB; ONNX Runtime int8 vs its float32 %.1f dB\n",
			name, snr(f[name].F32(), q[name].F32()), snr(ortQ[name].F32(), q[name].F32()), snr(ortF[name].F32(), ortQ[name].F32()))
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "snr:", err)
		os.Exit(1)
	}
}
