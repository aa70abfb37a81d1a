//go:build race

package kernels

// raceEnabled: the race detector is on. The race run exists for the
// concurrent Go code (the parallel dispatch, the pools, the per-thread
// tiling); assembly is not instrumented, and the per-path numerical checks
// already ran in the plain run. So under the race detector forEachPath keeps
// the best path this CPU has and the pure-Go path (whose kernels the detector
// does instrument) and skips the paths in between, which share the best
// path's Go-side tiling and cost the instrumented reference loops again.
const raceEnabled = true
