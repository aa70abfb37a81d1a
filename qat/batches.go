package qat

import (
	"errors"
	"fmt"
	"math/rand"
)

// ShapedData is Data whose samples come in groups of one shape: sequences of
// several lengths for a net whose inputs have symbolic dimensions (Net.Symbolic).
// Groups returns the exclusive end of each group of consecutive samples, ascending,
// and each group's sample shapes (per input, without the batch, in the net's
// InputNames order).
type ShapedData interface {
	Data
	Groups() (ends []int, shapes [][][]int)
}

// batchPlan is how an epoch's samples fall into batches: with one shape, a
// shuffle of all samples cut into batches (PyTorch's DataLoader); with several,
// each group shuffled and cut into batches of its own shape, the batches then
// shuffled together, so that every batch is of one shape and the order of lengths
// is random.
//
// A net with a fixed batch (Net.FixedBatch) runs batches of a multiple of it
// only: an epoch leaves out the last samples of its shuffle (of each group's)
// that would make a batch of another size, fewer than the fixed batch.
type batchPlan struct {
	n, batch int
	ends     []int
	shapes   [][][]int
	steps    int
	multiple int // every batch a multiple of it (1: any size)
}

// usable is how many of count samples an epoch batches.
func (p *batchPlan) usable(count int) int { return count - count%p.multiple }

func newBatchPlan(n *Net, data Data, batch int) (*batchPlan, error) {
	p := &batchPlan{n: data.Len(), batch: batch, multiple: max(1, n.fixedBatch)}
	if !n.Symbolic() {
		p.steps = (p.usable(p.n) + batch - 1) / batch
		return p, nil
	}
	sd, ok := data.(ShapedData)
	if !ok {
		return nil, errors.New("qat: the inputs have symbolic dimensions and the data gives no sample shapes (ShapedData)")
	}
	p.ends, p.shapes = sd.Groups()
	if len(p.ends) == 0 || p.ends[len(p.ends)-1] != p.n || len(p.shapes) != len(p.ends) {
		return nil, fmt.Errorf("qat: %d groups of sample shapes ending at %v for %d samples", len(p.shapes), p.ends, p.n)
	}
	start := 0
	for g, end := range p.ends {
		if end <= start {
			return nil, fmt.Errorf("qat: empty group %d of sample shapes", g)
		}
		if err := n.SetSampleShapes(p.shapes[g]); err != nil {
			return nil, fmt.Errorf("samples %d-%d: %w", start, end-1, err)
		}
		p.steps += (p.usable(end-start) + batch - 1) / batch
		start = end
	}
	if p.steps == 0 {
		return nil, fmt.Errorf("qat: no shape group holds %d samples; the model runs %d at a time", p.multiple, p.multiple)
	}
	return p, nil
}

// epoch returns the epoch's batches (sample indices) and the shape group of each
// (nil with one shape).
func (p *batchPlan) epoch(rng *rand.Rand) ([][]int, []int) {
	var batches [][]int
	if p.ends == nil {
		perm := rng.Perm(p.n)[:p.usable(p.n)]
		for s := 0; s < p.steps; s++ {
			batches = append(batches, perm[s*p.batch:min((s+1)*p.batch, len(perm))])
		}
		return batches, nil
	}
	var groups []int
	start := 0
	for g, end := range p.ends {
		perm := rng.Perm(end - start)
		for i := range perm {
			perm[i] += start
		}
		perm = perm[:p.usable(len(perm))]
		for s := 0; s < len(perm); s += p.batch {
			batches = append(batches, perm[s:min(s+p.batch, len(perm))])
			groups = append(groups, g)
		}
		start = end
	}
	rng.Shuffle(len(batches), func(i, j int) {
		batches[i], batches[j] = batches[j], batches[i]
		groups[i], groups[j] = groups[j], groups[i]
	})
	return batches, groups
}
