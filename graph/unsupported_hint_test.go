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
		{"FancyOp", `FancyOp "If_1080": unsupported operator FancyOp (domain ai.onnx)`},
	} {
		err := CheckNode(&Node{Name: "If_1080", OpType: tc.op}, 13)
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrUnsupported))
		assert.Contains(t, err.Error(), tc.want)
	}
}
