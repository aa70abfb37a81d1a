package quantizer

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// StaticBatch returns the batch size a model fixes, or 0 when its batch dimension is
// symbolic. A model exported with a static batch (torch.onnx writes [1,3,224,224] by
// default) only accepts batches of exactly that size, so every loop that feeds it in
// batches (calibration, comparison) must use that size rather than its own default.
// The batch is the leading dimension shared by every graph input that declares a
// shape; inputs that disagree, or any symbolic leading dimension, mean no fixed batch.
func StaticBatch(m *graph.Model) int {
	b, _ := staticBatch(m)
	return b
}

// staticBatch is StaticBatch and the first input that fixes it.
func staticBatch(m *graph.Model) (int, *graph.Value) {
	if m == nil || m.Graph == nil {
		return 0, nil
	}
	g := m.Graph
	batch := 0
	var first *graph.Value
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] != nil || !in.HasShape || len(in.Shape) == 0 {
			continue
		}
		d := in.Shape[0]
		if !d.Known() || (batch != 0 && batch != d.Size) {
			return 0, nil
		}
		if first == nil {
			first = in
		}
		batch = d.Size
	}
	return batch, first
}

// runBatches returns the batch size and the number of samples a loop over n samples
// of data for m uses: want (or def when want <= 0) for a model with a symbolic batch;
// the model's own batch for a model with a static one, with n rounded down to a
// multiple of it (dropped reports how many samples that leaves out). Samples that
// are each the model's whole batch already (a data set of whole inputs: the first
// sample's leading size is the static batch) run one at a time, none left out.
func runBatches(m *graph.Model, data Batches, want, def, n int) (bs, used, dropped int, err error) {
	bs = want
	if bs <= 0 {
		bs = def
	}
	sb, in := staticBatch(m)
	if sb <= 0 {
		return bs, n, 0, nil
	}
	if sb > 1 && n > 0 && wholeBatches(data, in.Name, sb) {
		return 1, n, 0, nil
	}
	if n < sb {
		return 0, 0, 0, fmt.Errorf("the model has a static batch of %d (input %q is %s) but there are only %d samples",
			sb, in.Name, in.Shape, n)
	}
	used = n - n%sb
	return sb, used, n - used, nil
}

// wholeBatches reports whether data's first sample of input name already has
// the model's static batch sb as its leading size.
func wholeBatches(data Batches, name string, sb int) bool {
	if data == nil || data.Len() == 0 {
		return false
	}
	b, err := data.Batch(0, 1)
	if err != nil {
		return false
	}
	t := b[name]
	return t != nil && len(t.Shape) > 0 && t.Shape[0] == sb
}
