package graph

import (
	"reflect"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWrapSharesOneAllocation(t *testing.T) {
	f32 := []float32{1, 2, 3, 4, 5, 6}
	i8 := []int8{-128, 0, 127, 5, 6, 7}
	u8 := []uint8{1, 2, 3, 4, 5, 6}
	i32 := []int32{1, 2, 3, 4, 5, 6}
	i64 := []int64{1, 2, 3, 4, 5, 6}
	long := []int{1, 1, 1, 1, 1, 2, 3}
	cases := []struct {
		name  string
		make  func() *Tensor
		plain *Tensor
	}{
		{"float32 [2,3]", func() *Tensor { return FromFloat32([]int{2, 3}, f32) }, &Tensor{DType: Float32, Shape: []int{2, 3}, Data: f32}},
		{"int8 [1,2,3]", func() *Tensor { return FromInt8([]int{1, 2, 3}, i8) }, &Tensor{DType: Int8, Shape: []int{1, 2, 3}, Data: i8}},
		{"int8 scalar", func() *Tensor { return FromInt8(nil, i8[:1]) }, &Tensor{DType: Int8, Data: i8[:1]}},
		{"uint8 [6]", func() *Tensor { return FromUint8([]int{6}, u8) }, &Tensor{DType: Uint8, Shape: []int{6}, Data: u8}},
		{"int32 [3,2]", func() *Tensor { return FromInt32([]int{3, 2}, i32) }, &Tensor{DType: Int32, Shape: []int{3, 2}, Data: i32}},
		{"int64 [6]", func() *Tensor { return FromInt64([]int{6}, i64) }, &Tensor{DType: Int64, Shape: []int{6}, Data: i64}},
		{"float32 rank 7", func() *Tensor { return FromFloat32(long, f32) }, &Tensor{DType: Float32, Shape: long, Data: f32}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var kept []*Tensor
			for i := 0; i < 100; i++ {
				kept = append(kept, c.make())
			}
			runtime.GC() // the boxes survive a collection with their data
			for _, got := range kept {
				require.True(t, reflect.DeepEqual(c.plain, got), "%+v", got)
				require.Equal(t, c.plain.Len(), got.Len())
				if len(got.Shape) <= boxRank {
					require.Equal(t, len(got.Shape), cap(got.Shape), "an append to the shape must not write into the box")
				}
				require.Equal(t, reflect.ValueOf(c.plain.Data).Pointer(), reflect.ValueOf(got.Data).Pointer(), "data shared, not copied")
			}
			if len(c.plain.Shape) <= boxRank {
				require.Equal(t, 1.0, testing.AllocsPerRun(100, func() { kept[0] = c.make() }))
			}
		})
	}
	// the shape is a copy: changing the caller's slice leaves the tensor alone
	shape := []int{2, 3}
	x := FromFloat32(shape, f32)
	shape[0] = 9
	require.Equal(t, []int{2, 3}, x.Shape)
	require.Equal(t, f32, x.F32())
}
