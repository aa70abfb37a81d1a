package qat

import (
	"fmt"
	"math"
	"math/rand"
)

// weightAverage is the running mean of the parameters over the last steps of
// training (stochastic weight averaging with a sample after every step).
type weightAverage struct {
	from int // first step (0-based, counted after its update) that is averaged
	n    int
	sum  [][]float64
}

func newWeightAverage(frac float64, total int) *weightAverage {
	if !(frac > 0) {
		return nil
	}
	from := total - int(math.Round(frac*float64(total)))
	return &weightAverage{from: max(0, min(from, total-1))}
}

// add samples the parameters after the update of step (0-based).
func (a *weightAverage) add(ps []*Param, step int) {
	if a == nil || step < a.from {
		return
	}
	if a.sum == nil {
		a.sum = make([][]float64, len(ps))
		for i, p := range ps {
			a.sum[i] = make([]float64, len(p.W))
		}
	}
	for i, p := range ps {
		s := a.sum[i]
		for j, w := range p.W {
			s[j] += float64(w)
		}
	}
	a.n++
}

// apply replaces the parameters by their mean.
func (a *weightAverage) apply(ps []*Param) {
	if a == nil || a.n == 0 {
		return
	}
	for i, p := range ps {
		for j, s := range a.sum[i] {
			p.W[j] = float32(s / float64(a.n))
		}
	}
}

// reestimate runs batches of training images forward (no gradient, no update of the
// weights) and sets the BatchNorm running statistics and the activation ranges that
// are still trained (not frozen) to the cumulative mean of the batches' statistics
// (batch k moves them by 1/k: the first batch replaces them), as
// torch.optim.swa_utils.update_bn does for BatchNorm. After weight averaging, the
// statistics gathered along the training trajectory belong to weights the model no
// longer has.
func (n *Net) reestimate(data Data, batches, batch int, rng *rand.Rand) error {
	N := data.Len()
	per := n.SampleLen()
	perm := rng.Perm(N)
	x := make([]float32, batch*per)
	defer func() { n.emaConst, n.bnMomentum = 0.01, 0 }()
	for k := 0; k < batches && k*batch < N; k++ {
		idx := perm[k*batch : min((k+1)*batch, N)]
		if fb := n.fixedBatch; fb > 1 {
			// the model runs its fixed batch only (Fit's batch is a multiple of it)
			if idx = idx[:len(idx)-len(idx)%fb]; len(idx) == 0 {
				break
			}
		}
		for i, j := range idx {
			if _, err := data.Sample(j, x[i*per:(i+1)*per]); err != nil {
				return fmt.Errorf("qat: re-estimating the statistics, sample %d: %w", j, err)
			}
		}
		n.emaConst = 1 / float32(k+1)
		n.bnMomentum = 1 / float64(k+1)
		if _, _, err := n.Forward(x[:len(idx)*per], len(idx)); err != nil {
			return fmt.Errorf("qat: re-estimating the statistics: %w", err)
		}
	}
	return nil
}
