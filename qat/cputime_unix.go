//go:build unix

package qat

import "syscall"

// processCPUSeconds is the CPU time (user + system) the whole process has used
// so far, in seconds, and whether it could be read. It counts every thread (the
// kernels' workers and the garbage collector as well as the caller), so an
// epoch's figure is what training cost the machine, whatever else runs on it.
func processCPUSeconds() (float64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	us := int64(ru.Utime.Sec)*1e6 + int64(ru.Utime.Usec) + int64(ru.Stime.Sec)*1e6 + int64(ru.Stime.Usec)
	return float64(us) / 1e6, true
}
