package main

import (
	"fmt"

	"github.com/warboy-sim/warboy/qat"
)

// chooseMicroBatch returns the micro-batch training runs with (0: whole batches),
// when it chose one the user did not give the line that says why, and whether it
// saw two samples run stacked (then a later failure is not the batch). Without
// --micro-batch a model that cannot run two samples stacked while it runs one
// (exported at batch 1 and fixing that batch inside) trains one sample at a
// time, each batch's gradients accumulated: the same steps as a stacked batch
// would take, where --batch 1 would be another recipe (batch × the steps at a
// rate chosen for batches).
func chooseMicroBatch(net *qat.Net, data qat.Data, batch, micro int, given bool, sample trainShapes) (int, string, bool, error) {
	if sample.whole {
		if batch == 1 {
			return 0, "", false, nil
		}
		return 1, fmt.Sprintf("micro-batch: each training sample is every input whole (%s: its first axis is not a batch of one), run one at a time; each batch of %d accumulates their gradients before the step", sample, batch), false, nil
	}
	if fb := net.FixedBatch(); fb > 1 {
		// the batch is a multiple of fb (fixedBatchSize); parts of fb samples
		if given && micro != fb && !(batch == fb && micro >= batch) {
			return 0, "", false, usageErr("--micro-batch %d: the model runs %d samples at a time (%s); give %d or leave it out", micro, fb, fixedBatchInput(net), fb)
		}
		if batch == fb {
			return 0, "", true, nil
		}
		return fb, fmt.Sprintf("micro-batch: the model runs %d samples at a time (%s); each batch of %d runs in parts of %d, its gradients accumulated before the step (--micro-batch)", fb, fixedBatchInput(net), batch, fb), true, nil
	}
	if given || batch == 1 {
		if micro >= batch {
			micro = 0
		}
		return micro, "", false, nil
	}
	stacks, why, err := net.StacksSamples(data)
	if err != nil {
		return 0, "", false, err
	}
	if stacks {
		return 0, "", true, nil
	}
	return 1, fmt.Sprintf("micro-batch: the model runs one sample at a time (two at once: %v); each batch of %d runs sample by sample, its gradients accumulated before the step (--micro-batch)", why, batch), false, nil
}

// fixedBatchInput names the input that fixes a model's batch, with its shape.
func fixedBatchInput(net *qat.Net) string {
	in := net.InputNames()[0]
	return fmt.Sprintf("input %q declares batch %d", in, net.FixedBatch())
}

// fixedBatchSize returns the training batch of a net that runs fb samples at
// a time (Net.FixedBatch > 1): --batch when it is a multiple of fb; the default rounded down
// to one (at least fb), with the line that says so; another given size is a
// usage error, since the user chose it.
func fixedBatchSize(batch int, net *qat.Net, given bool) (int, string, error) {
	fb := net.FixedBatch()
	if fb <= 1 || batch%fb == 0 {
		return batch, "", nil
	}
	if given {
		return 0, "", usageErr("--batch %d: the model runs %d samples at a time (%s); give a multiple of %d", batch, fb, fixedBatchInput(net), fb)
	}
	b := max(fb, batch-batch%fb)
	return b, fmt.Sprintf("batch: %d samples (the default %d rounded to a multiple of the model's batch %d)", b, batch, fb), nil
}
