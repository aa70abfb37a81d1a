package qat

import (
	"fmt"
	"math"
)

// The output-matching loss (Options.Loss "outputs"): the fake-quantized net is
// trained to compute what the float model computes, on images without labels.
// It is what a model whose outputs are not one [N, classes] tensor of class
// scores trains on (a detector's boxes and scores, a segmentation map, a
// sequence of features, a regression), and what trains a classifier whose user
// has images but no labels: the float model is the teacher of every output, as
// in the data-free and label-free QAT of the literature (Hinton's distillation
// with the float model as teacher, on the raw outputs).
//
// Each output contributes its mean squared difference from the teacher's, over
// the batch, divided by the variance of the teacher's values in the batch: a box
// coordinate in pixels and a score in [0, 1] weigh alike, and the loss is the
// fraction of each output's spread that the student misses (its reciprocal in
// dB is the output's SQNR against float, as `warboy compare` reports it, with the
// variance in place of the mean square). The loss is the mean over the outputs.

// outputVarFloor keeps an output that the teacher holds constant over a batch
// (a padding channel, a saturated score) from dividing by zero: its difference
// is then measured against the floor times its mean square, or 1.
// outputVarMin is the least variance any output is measured against: a value
// far below float32's resolution of the int8 net's outputs (a CTC decoder's
// confidence, the product of a line's probabilities, near 1e-40) would make the
// loss's gradient overflow float32 at the first step.
const (
	outputVarFloor = 1e-6
	outputVarMin   = 1e-12
)

// OutputMatchLoss returns the loss above for student outputs s against teacher
// outputs t (one slice per output, the same lengths) and writes d(loss)/d(s[i])
// into grad[i] when grad is not nil.
func OutputMatchLoss(s, t, grad [][]float32) (float64, error) {
	return outputMatchLoss(s, t, grad, nil)
}

// outputMatchLoss is OutputMatchLoss with each output's teacher variance given
// (vars[i]; nil: the variance of t[i]): a batch run in parts divides each part's
// differences by the whole batch's variance (outputMoments), as the batch run
// whole would.
func outputMatchLoss(s, t, grad [][]float32, vars []float64) (float64, error) {
	if len(s) != len(t) || len(s) == 0 {
		return 0, fmt.Errorf("qat: %d outputs against %d of the teacher", len(s), len(t))
	}
	if vars != nil && len(vars) != len(t) {
		return 0, fmt.Errorf("qat: %d output variances for %d outputs", len(vars), len(t))
	}
	var loss float64
	k := float64(len(s))
	for i := range s {
		if len(s[i]) != len(t[i]) || len(t[i]) == 0 {
			return 0, fmt.Errorf("qat: output %d has %d values, the teacher's %d", i, len(s[i]), len(t[i]))
		}
		m := float64(len(t[i]))
		var v float64
		if vars != nil {
			v = vars[i]
		} else {
			var om outputMoments
			om.add(t[i])
			v = om.variance()
		}
		var se float64
		for j, x := range s[i] {
			d := float64(x) - float64(t[i][j])
			se += d * d
		}
		loss += se / (m * v) / k
		if grad != nil {
			g := grad[i]
			c := 2 / (m * v * k)
			for j, x := range s[i] {
				g[j] = float32(c * (float64(x) - float64(t[i][j])))
			}
		}
	}
	return loss, nil
}

// outputMoments gathers the sum and the sum of squares of an output's teacher
// values, over a batch or over its parts.
type outputMoments struct{ n, sum, sq float64 }

func (o *outputMoments) add(t []float32) {
	for _, v := range t {
		o.sum += float64(v)
		o.sq += float64(v) * float64(v)
	}
	o.n += float64(len(t))
}

// variance is the values' variance, floored at outputVarFloor times their mean
// square (1 when that is 0 too) and at outputVarMin.
func (o *outputMoments) variance() float64 {
	mean := o.sum / o.n
	v := o.sq/o.n - mean*mean
	if floor := outputVarFloor * o.sq / o.n; v < floor {
		v = floor
	}
	if o.sq == 0 || math.IsNaN(v) {
		return 1
	}
	return max(v, outputVarMin)
}

// outputValues returns the shapes and values of what the outputs loss matches
// (every graph output, unless some are ragged: ragged.go) after the last
// Forward (owned by the net until the next call).
func (n *Net) outputValues() ([][]int, [][]float32) {
	shapes := make([][]int, len(n.lossOuts))
	data := make([][]float32, len(n.lossOuts))
	for i, s := range n.lossOuts {
		shapes[i], data[i] = n.vals[s].shape, n.vals[s].data
	}
	return shapes, data
}

// backwardOutputs propagates the gradients of the loss with respect to what it
// matches (d[i] for outputValues' i; two of one tensor add up) to the
// parameters' gradients.
func (n *Net) backwardOutputs(d [][]float32) {
	n.clearGrads()
	for i, s := range n.lossOuts {
		g := n.vals[s].grad
		if g == nil {
			continue // an output that no parameter reaches (a constant)
		}
		for j, v := range d[i] {
			g[j] += v
		}
	}
	for i := len(n.ops) - 1; i >= 0; i-- {
		n.ops[i].backward(n)
	}
}

// top1Agreement counts the rows of [N, K] scores (K > 1) whose largest value is
// in the same column as the teacher's; ok is false for another shape.
func top1Agreement(shape []int, s, t []float32) (agree int, ok bool) {
	if len(shape) != 2 || shape[1] < 2 {
		return 0, false
	}
	k := shape[1]
	for r := 0; r < shape[0]; r++ {
		if argmax(s[r*k:(r+1)*k]) == argmax(t[r*k:(r+1)*k]) {
			agree++
		}
	}
	return agree, true
}

func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// LossTargets says, when some graph outputs have a length set by the values,
// what the outputs loss matches instead ("" otherwise).
func (n *Net) LossTargets() string { return n.lossWhy }
