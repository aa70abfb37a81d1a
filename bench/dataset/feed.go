package dataset

import (
	"fmt"

	"github.com/warboy-sim/warboy/graph"
)

// InputBatch builds the model input for images [start, start+n): float32 pixels
// preprocessed as the data set says, or raw pixels when the model input was converted
// to integers by the model editor (uint8: the pixel; int8: pixel-128, i.e. the same
// value with zero point -128).
func InputBatch(in *graph.Value, ds *Dataset, start, n int) *graph.Tensor {
	switch in.DType {
	case graph.Uint8:
		return ds.BatchUint8(start, n)
	case graph.Int8:
		u := ds.BatchUint8(start, n)
		src := u.U8()
		d := make([]int8, len(src))
		for i, v := range src {
			d[i] = int8(int(v) - 128)
		}
		return graph.FromInt8(u.Shape, d)
	}
	return ds.Batch(start, n)
}

// Feed adapts a data set to a single-input model: Batch returns the model's input map
// for a range of images. It satisfies quantizer.Batches.
type Feed struct {
	DS    *Dataset
	Input *graph.Value
	// Limit bounds Len (0 = the whole data set).
	Limit int
}

// NewFeed checks that the data set's images fit the model input and returns a Feed.
func NewFeed(ds *Dataset, inputs []*graph.Value, limit int) (*Feed, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("model has %d inputs; image data sets feed single-input models", len(inputs))
	}
	in := inputs[0]
	if in.HasShape {
		ok := len(in.Shape) == 4
		want := []int{0, ds.C, ds.H, ds.W}
		for i := 1; ok && i < 4; i++ {
			if in.Shape[i].Known() && in.Shape[i].Size != want[i] {
				ok = false
			}
		}
		if !ok {
			return nil, fmt.Errorf("model input %q has shape %s; the data set %s has %dx%dx%d images", in.Name, in.Shape, ds.Name, ds.C, ds.H, ds.W)
		}
	}
	return &Feed{DS: ds, Input: in, Limit: limit}, nil
}

// Len is the number of images available.
func (f *Feed) Len() int {
	if f.Limit > 0 && f.Limit < f.DS.N {
		return f.Limit
	}
	return f.DS.N
}

// Batch returns images [start, start+n) keyed by the model input name.
func (f *Feed) Batch(start, n int) (map[string]*graph.Tensor, error) {
	if start < 0 || n <= 0 || start+n > f.Len() {
		return nil, fmt.Errorf("batch [%d, %d) is outside the %d images", start, start+n, f.Len())
	}
	return map[string]*graph.Tensor{f.Input.Name: InputBatch(f.Input, f.DS, start, n)}, nil
}
