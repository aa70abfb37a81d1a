//go:build unix

package bench

import "syscall"

// processCPUMs is the CPU time (user + system) the whole process has used so
// far, in milliseconds, and whether it could be read. It counts every thread:
// the kernels' worker threads and the garbage collector's as well as the
// caller's, so a run's CPU time is what the run cost the machine.
func processCPUMs() (float64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	us := int64(ru.Utime.Sec)*1e6 + int64(ru.Utime.Usec) + int64(ru.Stime.Sec)*1e6 + int64(ru.Stime.Usec)
	return float64(us) / 1e3, true
}
