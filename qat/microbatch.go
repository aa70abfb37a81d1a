package qat

import (
	"errors"
	"fmt"
	"math"
)

// Gradient accumulation (Options.MicroBatch): a step's batch runs forward and
// backward in parts, each part's loss gradient weighted by its share of the
// batch, so that the parameters receive the gradient of the batch's mean loss and
// the optimizer takes the step the whole batch would have given. What a model
// exported at batch 1 needs (a Reshape to [1, ...] or a Resize to constant sizes
// fixes its batch inside: it runs one sample at a time, and training it with
// batches of one instead would be another recipe, 64 times the steps at the rate
// chosen for batches of 64), and what a model too big for its batch in memory
// needs.
//
// Two things are per batch, not per forward pass, and are kept so. The
// activation ranges: each part's min/max are gathered and the moving average
// moves once, after the last part, toward the whole batch's extremes (moving it
// per part would follow the parts' narrower extremes, as often as there are
// parts); the parts' forward passes quantize with the ranges the step started
// with. And BatchNorm's batch statistics: with parts of one sample there are
// none (one value per channel after a global pool), so the layers use their
// running statistics, the folded convolution the int8 model runs
// (Options.MicroBatch's comment); with larger parts each part's statistics are
// used, as PyTorch's accumulation computes them.

// batchGrads runs the batch x (len(labels) samples of per values) forward and
// backward, whole or in parts of opts.MicroBatch samples, and leaves the
// gradients of the batch's mean loss in the parameters (and in the learned
// ranges' rps). It returns the mean loss and the rows predicted right (agreeing
// with the teacher for the label-free losses); a non-finite loss is returned
// before its part's backward pass runs, for the caller to report.
func (n *Net) batchGrads(opts Options, x []float32, labels []int, per int, rps []rangeParam, grad *[]float32, outGrads *[][]float32) (float64, int, error) {
	b := len(labels)
	m := b
	if opts.MicroBatch > 0 && opts.MicroBatch < b {
		m = opts.MicroBatch
	}
	n.ZeroGrad()
	zeroRangeGrads(rps)
	n.deferRanges = m < b
	defer func() { n.deferRanges, n.sameWeights = false, false }()
	if n.deferRanges {
		n.dropDeferredRanges() // a step that stopped early left its parts' min/max
	}
	var vars []float64
	var pre []teacherOutputs
	if opts.Loss == "outputs" && m < b {
		var err error
		if vars, pre, err = batchOutputVars(opts.Teacher, x, b, m, per); err != nil {
			return 0, 0, err
		}
	}
	var lossSum float64
	correct := 0
	for lo := 0; lo < b; lo += m {
		hi := min(lo+m, b)
		part := hi - lo
		xp := x[lo*per : hi*per]
		n.sameWeights = lo > 0
		if _, _, err := n.Forward(xp, part); err != nil {
			return 0, 0, err
		}
		var loss float64
		var c int
		var err error
		switch opts.Loss {
		case "outputs":
			var tp *teacherOutputs
			if pre != nil {
				tp = &pre[lo/m]
			}
			loss, c, err = n.outputsStep(opts.Teacher, xp, part, outGrads, vars, tp)
		case "distill":
			loss, c, err = n.distillStep(opts, xp, part, grad)
		default:
			loss, c, err = n.crossEntropyStep(opts, xp, labels[lo:hi], grad)
		}
		if err != nil {
			return 0, 0, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return loss, 0, nil
		}
		if part < b {
			// each part's loss is its own mean: weighted by its share of the batch
			w := float32(part) / float32(b)
			if opts.Loss == "outputs" {
				for _, g := range *outGrads {
					scale(g, w)
				}
			} else {
				scale(*grad, w)
			}
		}
		if opts.Loss == "outputs" {
			n.backwardOutputs(*outGrads)
		} else {
			n.lossBackward(*grad)
		}
		lossSum += loss * float64(part)
		correct += c
	}
	if n.deferRanges {
		n.moveDeferredRanges()
	}
	return lossSum / float64(b), correct, nil
}

// teacherOutputs are the teacher's outputs on one part of a batch.
type teacherOutputs struct {
	shapes [][]int
	vals   [][]float32
}

// teacherKeepFloats bounds the teacher outputs batchOutputVars keeps for the
// parts' losses (64 MiB): beyond it each part runs the teacher again rather than
// hold a batch of large outputs (segmentation maps) that micro-batches were
// chosen to keep out of memory.
const teacherKeepFloats = 1 << 24

// batchOutputVars is the variance of each of the teacher's outputs over the
// whole batch x, run in parts of m samples: what the outputs loss divides by
// when the batch runs whole. Each part's own would be another loss (an output
// of one value per sample has no variance within a part of one sample: the
// floor, a millionth of its square, would weigh its relative error a million
// times). It also returns the teacher's outputs on each part for the parts'
// losses, or nil when they exceed teacherKeepFloats.
func batchOutputVars(t *Teacher, x []float32, b, m, per int) ([]float64, []teacherOutputs, error) {
	var mom []outputMoments
	var kept []teacherOutputs
	size := 0
	for lo := 0; lo < b; lo += m {
		hi := min(lo+m, b)
		tshapes, ts, err := t.outputs(x[lo*per:hi*per], hi-lo)
		if err != nil {
			return nil, nil, fmt.Errorf("qat teacher: %w", err)
		}
		if mom == nil {
			mom = make([]outputMoments, len(ts))
		}
		if len(ts) != len(mom) {
			return nil, nil, fmt.Errorf("qat teacher: %d outputs, then %d", len(mom), len(ts))
		}
		for i, v := range ts {
			mom[i].add(v)
			size += len(v)
		}
		if size > teacherKeepFloats {
			kept = nil
			continue
		}
		p := teacherOutputs{shapes: make([][]int, len(ts)), vals: make([][]float32, len(ts))}
		for i, v := range ts { // the teacher's buffers are reused by its next run
			p.shapes[i], p.vals[i] = append([]int(nil), tshapes[i]...), append([]float32(nil), v...)
		}
		kept = append(kept, p)
	}
	vars := make([]float64, len(mom))
	for i := range mom {
		vars[i] = mom[i].variance()
	}
	if size > teacherKeepFloats {
		kept = nil
	}
	return vars, kept, nil
}

func scale(v []float32, w float32) {
	for i := range v {
		v[i] *= w
	}
}

// deferRange gathers a part's min/max for the range's one move at the end of the
// step (moveDeferredRanges).
func (o *fqOp) deferRange(lo, hi float32) {
	if !o.pending {
		o.pending, o.plo, o.phi = true, lo, hi
		return
	}
	o.plo, o.phi = min(o.plo, lo), max(o.phi, hi)
}

// dropDeferredRanges forgets the min/max gathered by an unfinished step.
func (n *Net) dropDeferredRanges() {
	for _, op := range n.ops {
		if o, ok := op.(*fqOp); ok {
			o.pending = false
		}
	}
}

// moveDeferredRanges moves every range that gathered parts' min/max this step
// toward the batch's extremes, once.
func (n *Net) moveDeferredRanges() {
	for _, op := range n.ops {
		if o, ok := op.(*fqOp); ok && o.pending {
			o.r.move(o.plo, o.phi, n.emaConst)
			o.pending = false
		}
	}
}

// StacksSamples reports whether the net runs samples stacked along the batch
// axis: it runs the first two samples of data (of its first shape group) forward,
// without training. When they fail together and the first runs alone, the model
// fixes its batch at one inside (an export at batch 1: a Reshape to [1, ...], a
// Resize to constant sizes, once Optimize has folded its shapes), stacks is false
// and why says what failed; it trains with Options.MicroBatch 1. When the first
// sample fails alone too, that error is returned: no batch would help.
func (n *Net) StacksSamples(data Data) (stacks bool, why, err error) {
	count := data.Len()
	if n.Symbolic() {
		sd, ok := data.(ShapedData)
		if !ok {
			return false, nil, errors.New("qat: the inputs have symbolic dimensions and the data gives no sample shapes (ShapedData)")
		}
		ends, shapes := sd.Groups()
		if len(ends) == 0 || len(shapes) == 0 {
			return false, nil, errors.New("qat: the data has no sample shapes")
		}
		if err := n.SetSampleShapes(shapes[0]); err != nil {
			return false, nil, err
		}
		count = ends[0]
	}
	if count == 0 {
		return false, nil, errors.New("qat: no training data")
	}
	per := n.SampleLen()
	b := min(2, count)
	x := make([]float32, b*per)
	for i := 0; i < b; i++ {
		if _, err := data.Sample(i, x[i*per:(i+1)*per]); err != nil {
			return false, nil, fmt.Errorf("qat: training sample %d: %w", i, err)
		}
	}
	training := n.training
	n.training = false // the ranges and statistics stay as they are
	defer func() { n.training = training }()
	if _, _, why = n.Forward(x, b); why == nil {
		return true, nil, nil
	}
	if b == 1 {
		return false, nil, fmt.Errorf("qat: training sample 0: %w", why)
	}
	if _, _, err := n.Forward(x[:per], 1); err != nil {
		return false, nil, fmt.Errorf("qat: training sample 0: %w", err)
	}
	return false, why, nil
}
