package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Several inputs in one --input-shape, and trtexec's NAME:DIMS form, are refused with
// the flags to write instead (twenty-third session).
func TestParseInputShapeSeveral(t *testing.T) {
	for in, want := range map[string]string{
		"a=2,3,b=2,3":          `gives several inputs in one flag: give each its own, --input-shape a=2,3 --input-shape b=2,3`,
		"a=2x3,b=2x3":          `--input-shape a=2x3 --input-shape b=2x3`,
		"a=2,3;b=4":            `--input-shape a=2,3 --input-shape b=4`,
		"a=1,2 b=3,4 c=5":      `--input-shape a=1,2 --input-shape b=3,4 --input-shape c=5`,
		"a:2x3":                `want NAME=d0,d1,...: write a=2x3`,
		"input_ids:0:1x128":    `write input_ids:0=1x128 (a name holding ':'`,
		"input_ids:0":          `want NAME=d0,d1,... (e.g. images=1,3,640,640)`,
		"serving_default:x1,2": `want NAME=d0,d1,... (e.g. images=1,3,640,640)`,
	} {
		_, _, err := ParseInputShape(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
	}
	name, dims, err := ParseInputShape("input_ids:0=1,128")
	require.NoError(t, err)
	assert.Equal(t, "input_ids:0", name)
	assert.Equal(t, []int{1, 128}, dims)
}
