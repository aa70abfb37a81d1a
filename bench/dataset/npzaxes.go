package dataset

import (
	"fmt"
	"reflect"

	"github.com/warboy-sim/warboy/graph"
)

// sampleMode says how an array of a tensor file holds the samples of one input.
type sampleMode int

const (
	// modeRows: the input's rank, axis 0 the model's batch axis: every row is a
	// sample (shape [1, ...]).
	modeRows sampleMode = iota
	// modeStack: the input's rank + 1: axis 0 lists whole inputs, one per sample.
	modeStack
	// modeWhole: the input's rank where axis 0 is not a batch axis (the input
	// declares a fixed leading size other than 1 that the model's other inputs do
	// not share): the array is one sample.
	modeWhole
	// modeUnit: the input's rank - 1: one sample without its batch axis.
	modeUnit
)

// batchAxes reports, per input, whether axis 0 is the model's batch axis: a
// symbolic or unit leading dimension, or a fixed one every input shares (a
// model bound to one batch size). A fixed leading size that the other inputs do
// not share (boxes [3234, 4] beside scores [1, 3234, 91], a detector's
// post-processing fed its head tensors) is the input's own size, not a batch.
func batchAxes(ins []*graph.Value, given map[string][]int) map[string]bool {
	lead := map[string]int{} // 0: symbolic or unknown
	common := -1
	for _, in := range ins {
		want, ok := target(in, given)
		if !ok || len(want) == 0 || !want[0].Known() {
			lead[in.Name] = 0
			continue
		}
		lead[in.Name] = want[0].Size
		switch {
		case common == -1:
			common = want[0].Size
		case common != want[0].Size:
			common = -2
		}
	}
	out := map[string]bool{}
	for _, in := range ins {
		d := lead[in.Name]
		out[in.Name] = d == 0 || d == 1 || d == common
	}
	return out
}

// sampleRows reads a file array's shape against input in (rank r): an array of
// rank r+1 lists whole inputs along axis 0; one of rank r is a batch along axis 0
// when that is the model's batch axis (batch), else one sample; one of rank r-1 is
// one sample without its batch axis. Any other rank is an error naming the array,
// the input and the ranks that fit.
func sampleRows(in *graph.Value, given map[string][]int, batch bool, shape []int, file string) (rows int, sample []int, mode sampleMode, err error) {
	want, ok := target(in, given)
	if !ok {
		// No declared shape: axis 0 is taken as the batch.
		if len(shape) == 0 {
			return 0, nil, 0, fmt.Errorf("%s: array %q is a scalar; input %q takes a tensor", file, in.Name, in.Name)
		}
		return shape[0], append([]int{1}, shape[1:]...), modeRows, nil
	}
	r := len(want)
	switch {
	case len(shape) == r+1:
		rows, sample, mode = shape[0], append([]int(nil), shape[1:]...), modeStack
	case len(shape) == r && r > 0 && batch:
		rows, sample, mode = shape[0], append([]int{1}, shape[1:]...), modeRows
	case len(shape) == r:
		// r > 0: not a batch axis; r == 0: a scalar input (a loop count, a
		// threshold), whole in every sample.
		rows, sample, mode = 1, append([]int(nil), shape...), modeWhole
	case len(shape) == r-1:
		rows, sample, mode = 1, append([]int{1}, shape...), modeUnit
	default:
		return 0, nil, 0, fmt.Errorf("%s: array %q has shape %s (rank %d), which does not fit input %q %s: give rank %d for one sample%s or %d for a list of samples along axis 0",
			file, in.Name, graph.FormatDims(shape), len(shape), in.Name, want, r, rankNote(r, batch), r+1)
	}
	if err := fitSample(in, given, sample, file); err != nil {
		return 0, nil, 0, err
	}
	if (mode == modeStack || mode == modeWhole) && r > 0 {
		// A whole input: its leading size is checked too.
		if want[0].Known() && sample[0] != want[0].Size {
			return 0, nil, 0, fmt.Errorf("%s: array %q: sample shape %s does not fit input %q %s (dimension 0 is %d, not %d)",
				file, in.Name, graph.FormatDims(sample), in.Name, want, sample[0], want[0].Size)
		}
	}
	return rows, sample, mode, nil
}

func rankNote(r int, batch bool) string {
	if batch && r > 1 {
		return fmt.Sprintf(" (or a batch along axis 0; %d without the batch axis)", r-1)
	}
	return ""
}

// pick returns sample row of array t read in mode m.
func pick(t *graph.Tensor, m sampleMode, row int) *graph.Tensor {
	switch m {
	case modeRows:
		return row0(t, row)
	case modeStack:
		shape := append([]int(nil), t.Shape[1:]...)
		per := graph.NumElements(shape)
		out := graph.NewTensor(t.DType, shape)
		reflect.Copy(reflect.ValueOf(out.Data), reflect.ValueOf(t.Data).Slice(row*per, (row+1)*per))
		return out
	case modeUnit:
		return &graph.Tensor{DType: t.DType, Shape: append([]int{1}, t.Shape...), Data: t.Data}
	}
	return t
}
