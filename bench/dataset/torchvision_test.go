package dataset

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPreprocessMatchesTorchvision compares the preprocessing with torchvision's
// Resize(64), CenterCrop(56), ToTensor(), Normalize(ImageNet) on the committed images
// (references made by scripts/export_testmodels.py with PIL and torchvision 0.14).
// Measured: PNG max |err| 0.0175 (one grey level), mean 0.004-0.005; JPEG mean
// 0.007-0.015, max 0.09-0.47.
// Resampling (x/image bilinear against PIL's antialiased bilinear) and JPEG decoding
// differ slightly; the geometry (short side, crop offsets) and the value mapping must
// match.
func TestPreprocessMatchesTorchvision(t *testing.T) {
	ref, err := ReadNPZ(filepath.Join(exported, "images_torchvision_r64c56.npz"))
	require.NoError(t, err)
	p, err := ParsePreprocess("resize-short=64,crop=56,56,mean=0.485,0.456,0.406,std=0.229,0.224,0.225")
	require.NoError(t, err)
	require.Len(t, ref, 6)
	for name, want := range ref {
		img, err := decodeImage(filepath.Join(exported, "images", name))
		require.NoError(t, err)
		g, err := p.Geometry(img, 0, 0)
		require.NoError(t, err)
		got, err := p.Values(g, 3, false, false)
		require.NoError(t, err)
		w := want.F32()
		require.Equal(t, []int{1, 3, 56, 56}, want.Shape)
		require.Len(t, got, len(w))
		var maxErr, sum float64
		for i := range w {
			d := math.Abs(float64(got[i] - w[i]))
			maxErr = math.Max(maxErr, d)
			sum += d
		}
		mean := sum / float64(len(w))
		t.Logf("%s: max |err| %.4f, mean |err| %.4f (1/255/std = %.4f)", name, maxErr, mean, 1/255.0/0.225)
		// Within one grey level on average; PNG (no decoder difference) within one
		// level everywhere. JPEG decoders (Go's and libjpeg's chroma upsampling) differ
		// by a few levels at sharp colour edges.
		assert.Less(t, mean, 0.02, name)
		if filepath.Ext(name) == ".png" {
			assert.Less(t, maxErr, 0.018, name)
		}
	}
}
