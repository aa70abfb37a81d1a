package runtime

import "github.com/warboy-sim/warboy/kernels"

// keepPoolAwake holds the kernels' thread pool awake for a run on more than
// one thread: the steps' parallel calls follow each other within
// microseconds, so the pool's workers poll between them instead of parking
// (kernels.KeepWorkersAwake). It returns the release.
func keepPoolAwake(threads int) (release func()) {
	if threads <= 1 {
		return func() {}
	}
	return kernels.KeepWorkersAwake()
}
