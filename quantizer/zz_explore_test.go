package quantizer

import (
	"fmt"
	"testing"
	"time"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

func TestExplore(t *testing.T) {
	train, _ := dataset.Load("../testdata/fashion-mnist", "train")
	test, _ := dataset.Load("../testdata/fashion-mnist", "t10k")
	ntest := 10000
	for _, f := range []string{"fmnist_cnn", "fmnist_resnet", "fmnist_mlp"} {
		m, err := graph.Load("../testdata/models/" + f + ".onnx")
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		c, err := NewCalibrator(m, MinMaxAsym, CalibOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i += 100 {
			if err := c.Collect(map[string]*graph.Tensor{"input": train.Batch(i, 100)}); err != nil {
				t.Fatal(err)
			}
		}
		t.Log(f, "calib", time.Since(t0))
		eval := func(q *graph.Model) float64 {
			s, err := runtime.NewSession(q)
			if err != nil {
				t.Fatal(err)
			}
			var pred []int
			for i := 0; i < ntest; i += 500 {
				out, err := s.RunTensors(map[string]*graph.Tensor{"input": test.Batch(i, 500)})
				if err != nil {
					t.Fatal(err)
				}
				p, _ := dataset.Top1(out["logits"])
				pred = append(pred, p...)
			}
			return dataset.Accuracy(pred, test.Labels[:ntest])
		}
		line := fmt.Sprintf("%s float %.4f", f, eval(m))
		for _, meth := range Methods() {
			t1 := time.Now()
			r, _, err := c.ComputeRangesFor(meth)
			if err != nil {
				t.Fatal(err)
			}
			st := time.Since(t1)
			q, err := Quantize(m, r, QuantOptions{})
			if err != nil {
				t.Fatal(err)
			}
			line += fmt.Sprintf(" | %s %.4f (%v)", meth, eval(q), st.Round(time.Millisecond))
		}
		t.Log(line)
	}
}
