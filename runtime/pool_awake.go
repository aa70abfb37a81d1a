package runtime

import "github.com/warboy-sim/warboy/kernels"

// keepPoolAwake holds the kernels' thread pool awake for a run on more than
// one thread: the steps' parallel calls follow each other within
// microseconds, so the pool's workers poll between them instead of parking
// (kernels.KeepWorkersAwake), and wakes the parked workers the run will
// use at once, so that the run's first parallel step (a CNN's stem) does
// not wait for their wake-up (kernels.WakeWorkers). It returns the release.
func keepPoolAwake(threads int) (release func()) {
	if threads <= 1 {
		return func() {}
	}
	release = kernels.KeepWorkersAwake()
	kernels.WakeWorkers(threads - 1)
	return release
}
