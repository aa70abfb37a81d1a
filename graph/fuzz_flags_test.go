package graph

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseInputShape: --input-shape NAME=d0,d1,... never panics; what it accepts has a
// name and non-negative dimensions, and writing it back parses to the same.
func FuzzParseInputShape(f *testing.F) {
	for _, s := range []string{"images=1,3,640,640", "x=1x3x224x224", "input_ids=1,128", "a= 1 , 2 ", "=1,2", "x=", "x=a,b",
		"x=-1", "x=99999999999999999999", "x=1,,2", "x=,", "x=1xx2", "name with spaces=1", "x==1", "\x00=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, dims, err := ParseInputShape(s)
		if err != nil {
			return
		}
		require.NotEmpty(t, name)
		parts := make([]string, len(dims))
		for i, d := range dims {
			require.GreaterOrEqual(t, d, 0)
			parts[i] = strconv.Itoa(d)
		}
		if len(dims) == 0 || strings.ContainsAny(name, "=") {
			return
		}
		name2, dims2, err := ParseInputShape(name + "=" + strings.Join(parts, ","))
		require.NoError(t, err)
		require.Equal(t, name, name2)
		require.Equal(t, dims, dims2)
	})
}
