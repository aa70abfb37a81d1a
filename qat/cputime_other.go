//go:build !unix

package qat

// processCPUSeconds: no process CPU time on this system (see cputime_unix.go);
// EpochStats.CPUSeconds stays 0.
func processCPUSeconds() (float64, bool) { return 0, false }
