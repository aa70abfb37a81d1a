package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func bindGraph() *Graph {
	return &Graph{
		Inputs: []*Value{
			{Name: "images", DType: Float32, HasShape: true, Shape: Shape{{Size: -1, Param: "N"}, {Size: 3}, {Size: -1, Param: "H"}, {Size: -1, Param: "W"}}},
		},
		Initializers: map[string]*Tensor{},
	}
}

func TestResolveInputShapes(t *testing.T) {
	tests := []struct {
		name    string
		batch   int
		given   map[string][]int
		want    []int
		wantErr string
	}{
		{name: "given", batch: 1, given: map[string][]int{"images": {2, 3, 64, 48}}, want: []int{2, 3, 64, 48}},
		{name: "symbolic H is an error naming it", batch: 1, wantErr: `input "images": dimension 2 (H) of [N,3,H,W] is symbolic; give it with --input-shape images=1,3,H,W`},
		{name: "declared size mismatch", batch: 1, given: map[string][]int{"images": {1, 1, 64, 64}}, wantErr: "dimension 1 is 1, not 3"},
		{name: "rank mismatch", given: map[string][]int{"images": {1, 3, 64}}, wantErr: "rank 3"},
		{name: "unknown input", given: map[string][]int{"x": {1}}, wantErr: `input shape given for "x", but the model's inputs are "images"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveInputShapes(bindGraph(), tc.batch, tc.given)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got["images"])
		})
	}
}

func TestResolveInputShapesBatchOnly(t *testing.T) {
	g := &Graph{Inputs: []*Value{{Name: "x", HasShape: true, Shape: Shape{{Size: -1, Param: "batch"}, {Size: 10}}}}, Initializers: map[string]*Tensor{}}
	got, err := ResolveInputShapes(g, 8, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{8, 10}, got["x"])
	_, err = ResolveInputShapes(g, 0, nil)
	require.ErrorContains(t, err, "dimension 0 (batch)")
}

func TestParseInputShape(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		dims    []int
		wantErr bool
	}{
		{in: "images=1,3,640,640", name: "images", dims: []int{1, 3, 640, 640}},
		{in: "x=1x32x100", name: "x", dims: []int{1, 32, 100}},
		{in: "x=", wantErr: true},
		{in: "=1,2", wantErr: true},
		{in: "x=1,-2", wantErr: true},
		{in: "x=1,a", wantErr: true},
		{in: "x", wantErr: true},
	}
	for _, tc := range tests {
		name, dims, err := ParseInputShape(tc.in)
		if tc.wantErr {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.name, name)
		assert.Equal(t, tc.dims, dims)
	}
}
