package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"

	"github.com/warboy-sim/warboy/kernels"
	"github.com/warboy-sim/warboy/npu"
)

// version is the release of this source tree. A binary built from a module version
// (go install ...@vX.Y.Z) reports that version instead; a binary built from a git
// checkout adds the commit.
const version = "0.1.0-dev"

func init() {
	register(&command{name: "version", summary: "version, Go version, kernel dispatch paths and hardware profile (also: warboy --version)", run: versionCmd})
}

type versionReport struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	Modified       bool   `json:"modified"`
	GoVersion      string `json:"go_version"`
	OS             string `json:"os"`
	Arch           string `json:"arch"`
	CPU            string `json:"cpu"`
	Int8KernelPath string `json:"int8_kernel_path"`
	F32KernelPath  string `json:"f32_kernel_path"`
	F32ConvPath    string `json:"f32_conv_kernel_path"`
	Profile        string `json:"profile"`
	ProfileFormat  int    `json:"profile_format_version"`
	ProfileVersion string `json:"profile_version"`
}

func versionInfo() versionReport {
	p := npu.Default()
	r := versionReport{Version: version, GoVersion: goruntime.Version(), OS: goruntime.GOOS, Arch: goruntime.GOARCH, CPU: cpuName(),
		Int8KernelPath: kernels.Int8Path(), F32KernelPath: kernels.F32Path(), F32ConvPath: kernels.RowsPath(),
		Profile: p.Name + "-" + p.Version, ProfileFormat: p.FormatVersion, ProfileVersion: p.Version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			r.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				r.Commit = s.Value
			case "vcs.modified":
				r.Modified = s.Value == "true"
			}
		}
	}
	return r
}

func versionCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "[--json]", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("version takes no arguments")
	}
	r := versionInfo()
	if *asJSON {
		return writeJSON(stdout, r)
	}
	v := r.Version
	if r.Commit != "" {
		c := r.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		v += " (commit " + c
		if r.Modified {
			v += ", modified"
		}
		v += ")"
	}
	fmt.Fprintf(stdout, "warboy %s\n", v)
	fmt.Fprintf(stdout, "go:       %s %s/%s\n", r.GoVersion, r.OS, r.Arch)
	fmt.Fprintf(stdout, "kernels:  int8 %s, float32 %s on %s\n", r.Int8KernelPath, f32KernelsLabel(r.F32KernelPath, r.F32ConvPath), r.CPU)
	fmt.Fprintf(stdout, "profile:  %s (profile format %d)\n", r.Profile, r.ProfileFormat)
	return nil
}

// f32KernelsLabel says which float32 kernels run, from the paths of the
// packed GEMM (kernels.F32Path) and of the channels-last convolutions
// (kernels.RowsPath): on an AVX-512 CPU the convolutions, depthwise, one-row
// GEMMs and activations run on zmm and only the packed GEMM (NCHW im2col
// convolutions, RNN gates, MatMuls off the rows path) on AVX2, which
// "float32 avx2 (convolutions avx512)" understated.
func f32KernelsLabel(gemm, conv string) string {
	if conv == "avx512" && gemm != "go" && gemm != conv {
		return "avx512 (packed GEMM " + gemm + ")"
	}
	return gemm
}
