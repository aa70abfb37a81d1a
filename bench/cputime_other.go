//go:build !unix

package bench

// processCPUMs: no process CPU time on this system (see cputime_unix.go).
func processCPUMs() (float64, bool) { return 0, false }
