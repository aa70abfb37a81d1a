//go:build !linux && amd64 && !purego && !noasm

package kernels

// requestAMXPerm: the AMX path is only wired for Linux (the permission request
// is Linux's arch_prctl); elsewhere the VNNI kernels run.
func requestAMXPerm() bool { return false }
