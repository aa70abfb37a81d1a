package qat

import (
	"errors"
	"fmt"
)

// FixedBatch is the number of samples the net runs at once when the model
// declares one batch size above one on every input (quantizer.StaticBatch: a
// torch.onnx export traced at a batch of 8 without dynamic_axes, whose Reshapes
// then fix that batch too, or a training-mode BatchNormalization whose
// statistics are that batch's), and 0 when it runs any number (a symbolic batch,
// a batch of one stacked or not: StacksSamples, or whole-input samples). Fit
// runs such a net in parts of exactly that many samples, and every batch is a
// multiple of it.
func (n *Net) FixedBatch() int { return n.fixedBatch }

// fitFixedBatch checks and completes opts for a net with a fixed batch B: each
// step's batch a multiple of B, run in parts of B unless it is B (MicroBatch 0
// or B), and at least B training samples. A batch of
// another size could not run; the samples an epoch leaves over (fewer than B)
// train in the next epochs' shuffles (batchPlan).
func (n *Net) fitFixedBatch(opts *Options, samples int) error {
	b := n.fixedBatch
	if b <= 1 {
		return nil
	}
	if opts.Batch%b != 0 {
		return fmt.Errorf("qat: batches of %d samples; the model runs %d at a time (it declares batch %d): give a multiple of %d", opts.Batch, b, b, b)
	}
	if opts.MicroBatch != 0 && opts.MicroBatch != b {
		return fmt.Errorf("qat: micro-batches of %d samples; the model runs %d at a time (it declares batch %d)", opts.MicroBatch, b, b)
	}
	if opts.MicroBatch == 0 && opts.Batch > b {
		if opts.Reestimate > 0 {
			return errors.New("qat: re-estimating the statistics runs whole batches; the model runs its fixed batch at a time (train with Batch equal to it)")
		}
		opts.MicroBatch = b
	}
	if samples < b {
		return fmt.Errorf("qat: %d training samples; the model runs %d at a time (it declares batch %d)", samples, b, b)
	}
	return nil
}
