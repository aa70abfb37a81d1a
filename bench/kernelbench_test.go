package bench

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRunKernelBenchQuick(t *testing.T) {
	res, err := RunKernelBench(KernelBenchOptions{Quick: true, Threads: []int{1, 2}}, io.Discard)
	require.NoError(t, err)
	require.NotEmpty(t, res)
	names := map[string]bool{}
	for _, r := range res {
		require.Greater(t, r.GOPS, 0.0, "%+v", r)
		require.NotEmpty(t, r.Path, "%+v", r)
		if r.Name != "peak" {
			require.Greater(t, r.Seconds, 0.0, "%+v", r)
		}
		names[r.Name+"/"+r.DType] = true
	}
	for _, n := range []string{"gemm-256", "gemm-512", "gemm-1024", "conv3x3-resnet50-56x56x64-64", "conv1x1-resnet50-56x56x256-64", "dwconv3x3-112x112x32"} {
		require.True(t, names[n+"/int8"], n)
		require.True(t, names[n+"/float32"], n)
	}
	_, err = RunKernelBench(KernelBenchOptions{Quick: true, Threads: []int{0}}, nil)
	require.Error(t, err)
}
