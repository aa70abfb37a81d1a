package graph

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckNodeUnsupportedNamesNodeAndOperator(t *testing.T) {
	for _, tc := range []struct {
		op, want string
	}{
		{"If", `If "If_1080": unsupported operator If (domain ai.onnx): control flow with subgraphs is not implemented`},
		{"Loop", "control flow with subgraphs"},
		{"MaxRoiPool", `MaxRoiPool "If_1080": unsupported operator MaxRoiPool (domain ai.onnx): detection post-processing`},
		{"FancyOp", `FancyOp "If_1080": unsupported operator FancyOp (domain ai.onnx)`},
	} {
		err := CheckNode(&Node{Name: "If_1080", OpType: tc.op}, 13)
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrUnsupported))
		assert.Contains(t, err.Error(), tc.want)
	}
}
