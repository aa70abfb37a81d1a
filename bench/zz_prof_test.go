package bench

import (
	"testing"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/runtime"
)

func BenchmarkResNetInt8(b *testing.B) {
	fm := zoo.ResNet50(zoo.Options{Batch: 1})
	qm, err := zoo.Quantized(fm)
	if err != nil { b.Fatal(err) }
	s, err := runtime.NewSession(qm, runtime.WithMode(runtime.ModeInt8), runtime.WithThreads(2))
	if err != nil { b.Fatal(err) }
	in, _ := SyntheticInputs(fm.Graph.Inputs, 1, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ { s.RunTensors(in) }
}
