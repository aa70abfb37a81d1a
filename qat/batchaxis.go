package qat

import (
	"fmt"
	"strings"

	"github.com/warboy-sim/warboy/graph"
)

// CheckBatchLeading refuses a model whose inputs declare their batch on another
// axis than the first: training stacks samples along axis 0 of every input, so a
// time-major recurrent model (torch's nn.LSTM without batch_first: x [time,
// batch, C], h0 [layers, batch, H]) would have its time steps read as samples.
// An input's batch is known to lie elsewhere when its dimensions are named a time
// axis first and a batch after it, when another input's first dimension, named
// like a batch, is named at one of its later axes, or when every input names one
// symbolic dimension alike at an axis other than 0 while their first dimensions
// differ; otherwise axis 0 is the batch, as everywhere else.
func CheckBatchLeading(g *graph.Graph) error {
	var ins []*graph.Value
	for _, in := range g.Inputs {
		if g.Initializers[in.Name] == nil && in.HasShape && len(in.Shape) > 1 {
			ins = append(ins, in)
		}
	}
	if len(ins) == 0 {
		return nil
	}
	refuse := func(in *graph.Value, axis int) error {
		return fmt.Errorf("qat: input %q %s has its batch on axis %d (%q), not axis 0: training stacks samples along axis 0; "+
			"export the model batch-first (nn.LSTM/nn.GRU with batch_first=True, or x.transpose(0, 1) inside forward)",
			in.Name, in.Shape, axis, in.Shape[axis].Param)
	}
	for _, in := range ins {
		if !isTimeName(in.Shape[0].Param) {
			continue
		}
		for ax, d := range in.Shape[1:] {
			if isBatchName(d.Param) {
				return refuse(in, ax+1)
			}
		}
	}
	if len(ins) < 2 {
		return nil
	}
	// an input's batch named at a later axis of another (a batch-first LSTM's
	// h0 [layers, batch, H] beside x [batch, seq, C])
	lead := map[string]*graph.Value{}
	for _, in := range ins {
		if p := in.Shape[0].Param; p != "" {
			lead[p] = in
		}
	}
	for _, in := range ins {
		for ax, d := range in.Shape[1:] {
			if o := lead[d.Param]; o != nil && o != in && isBatchName(d.Param) && d.Param != in.Shape[0].Param {
				return refuse(in, ax+1)
			}
		}
	}
	// first dimensions that agree (one symbolic name, or one size: two
	// images [1, 1, H, W]) are the batch
	sameLead := true
	for _, in := range ins[1:] {
		a, b := in.Shape[0], ins[0].Shape[0]
		if a.Param != b.Param || (a.Param == "" && a.Size != b.Size) {
			sameLead = false
		}
	}
	if sameLead {
		return nil
	}
	for ax, d := range ins[0].Shape {
		if ax == 0 || d.Param == "" {
			continue
		}
		shared := true
		for _, in := range ins[1:] {
			if ax >= len(in.Shape) || in.Shape[ax].Param != d.Param {
				shared = false
			}
		}
		if shared {
			return refuse(ins[0], ax)
		}
	}
	return nil
}

func isTimeName(s string) bool {
	switch strings.ToLower(s) {
	case "time", "seq", "seq_len", "seqlen", "sequence", "sequence_length", "src_len", "tgt_len", "length", "frames", "steps", "t":
		return true
	}
	return false
}

func isBatchName(s string) bool {
	switch strings.ToLower(s) {
	case "batch", "batch_size", "batchsize", "bs", "n", "b":
		return true
	}
	return false
}
