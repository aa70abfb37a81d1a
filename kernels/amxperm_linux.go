//go:build linux && amd64 && !purego && !noasm

package kernels

import "syscall"

// Linux arch_prctl request for an extended state component
// (arch/x86/include/uapi/asm/prctl.h) and the AMX tile data component.
const (
	archReqXcompPerm  = 0x1023
	xfeatureXTileData = 18
)

// requestAMXPerm asks for the AMX tile data state for this process (all its
// threads). It fails on kernels before 5.16, where tiles cannot be used.
func requestAMXPerm() bool {
	_, _, errno := syscall.Syscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
}
