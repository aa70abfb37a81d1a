package graph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedDimsGraph is a transformer-style pair of inputs that share the names batch
// and seq, a third input with a name of its own (kv) and one with an anonymous
// symbolic dimension, plus a fully static input and an initializer listed as input.
func sharedDimsGraph() *Graph {
	sym := func(p string) Dim { return Dim{Size: -1, Param: p} }
	return &Graph{
		Inputs: []*Value{
			{Name: "input_ids", DType: Int64, HasShape: true, Shape: Shape{sym("batch"), sym("seq")}},
			{Name: "attention_mask", DType: Int64, HasShape: true, Shape: Shape{sym("batch"), sym("seq")}},
			{Name: "past", DType: Float32, HasShape: true, Shape: Shape{sym("batch"), sym("kv"), {Size: 8}}},
			{Name: "anon", DType: Float32, HasShape: true, Shape: Shape{sym("batch"), sym("")}},
			{Name: "meta", DType: Float32, HasShape: true, Shape: Shape{{Size: 1}, {Size: 4}}},
			{Name: "w", DType: Float32, HasShape: true, Shape: Shape{sym("seq")}},
		},
		Initializers: map[string]*Tensor{"w": {}},
	}
}

func TestShareSymbolicDims(t *testing.T) {
	tests := []struct {
		name    string
		given   map[string][]int
		want    map[string][]int
		wantErr string
	}{
		{name: "nothing given binds nothing", given: nil, want: map[string][]int{}},
		{
			name:  "a shared name binds the other input; a still-unbound name and an anonymous dimension do not",
			given: map[string][]int{"input_ids": {2, 16}},
			want:  map[string][]int{"input_ids": {2, 16}, "attention_mask": {2, 16}},
		},
		{
			name:  "names from two inputs complete a third",
			given: map[string][]int{"input_ids": {1, 16}, "past": {1, 5, 8}},
			want:  map[string][]int{"input_ids": {1, 16}, "past": {1, 5, 8}, "attention_mask": {1, 16}},
		},
		{
			name:  "agreeing shapes for both sharing inputs",
			given: map[string][]int{"input_ids": {1, 16}, "attention_mask": {1, 16}},
			want:  map[string][]int{"input_ids": {1, 16}, "attention_mask": {1, 16}},
		},
		{
			name:  "the anonymous dimension is bound only by its own input",
			given: map[string][]int{"anon": {3, 7}},
			want:  map[string][]int{"anon": {3, 7}},
		},
		{
			name:    "conflicting sizes for one name name both inputs and the dimension",
			given:   map[string][]int{"input_ids": {1, 16}, "attention_mask": {1, 12}},
			wantErr: `symbolic dimension "seq" is 16 in input "input_ids" (dimension 1) but 12 in input "attention_mask" (dimension 1)`,
		},
		{
			name:    "conflict on the leading name",
			given:   map[string][]int{"input_ids": {1, 16}, "past": {2, 5, 8}},
			wantErr: `symbolic dimension "batch" is 1 in input "input_ids" (dimension 0) but 2 in input "past" (dimension 0)`,
		},
		{name: "a given shape must fit its declaration", given: map[string][]int{"past": {1, 5, 9}}, wantErr: "dimension 2 is 9, not 8"},
		{name: "unknown input", given: map[string][]int{"x": {1}}, wantErr: `input shape given for "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ShareSymbolicDims(sharedDimsGraph(), tc.given)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestResolveInputSharedNames: ResolveInputShapes applies the same sharing, uses a
// bound name ahead of the batch for a leading dimension, and still names a
// dimension that nothing binds (with the bound names filled in its example).
func TestResolveInputSharedNames(t *testing.T) {
	g := &Graph{Inputs: sharedDimsGraph().Inputs[:3], Initializers: map[string]*Tensor{}}
	tests := []struct {
		name    string
		batch   int
		given   map[string][]int
		want    map[string][]int
		wantErr string
	}{
		{
			name:  "mask and past from input_ids and past",
			batch: 4, given: map[string][]int{"input_ids": {1, 16}, "past": {1, 5, 8}},
			want: map[string][]int{"input_ids": {1, 16}, "attention_mask": {1, 16}, "past": {1, 5, 8}},
		},
		{
			name:    "kv is never guessed",
			batch:   1,
			given:   map[string][]int{"input_ids": {2, 16}},
			wantErr: `input "past": dimension 1 (kv) of [batch,kv,8] is symbolic; give it with --input-shape past=2,KV,8`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveInputShapes(g, tc.batch, tc.given)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
