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
