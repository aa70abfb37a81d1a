package dataset

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/graph"
)

// FuzzParsePreprocess: every --preprocess spec is parsed or refused, never a panic.
func FuzzParsePreprocess(f *testing.F) {
	for _, s := range []string{"", "pixel", "imagenet", "yolo", "imagenet,bgr", "resize=224,224,crop=200,200", "resize-short=256",
		"letterbox=640,640", "mean=0.5,std=0.25", "scale=1,mean=103.94,116.78,123.68", "layout=nhwc", "blur=3", "resize=0,0",
		"resize=-1", "crop=99999999999,1", "mean=NaN", "std=0", "scale=Inf", "resize", "letterbox", "imagenet,yolo", ",,,", "mean=1,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePreprocess(s)
		if err == nil {
			require.NotNil(t, p)
		}
	})
}

// FuzzDecodeIDX: an IDX header of a few bytes never makes the reader allocate what it
// declares; what is accepted holds exactly the declared number of bytes.
func FuzzDecodeIDX(f *testing.F) {
	idx := func(dims []uint32, n int) []byte {
		b := []byte{0, 0, 8, byte(len(dims))}
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, d)
		}
		return append(b, make([]byte, n)...)
	}
	f.Add(idx([]uint32{2, 3, 3}, 18))
	f.Add(idx([]uint32{4}, 4))
	f.Add(idx([]uint32{10, 28, 28}, 100))
	f.Add(idx([]uint32{1 << 16, 1 << 16}, 3))
	f.Add(idx([]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, 0))
	f.Add([]byte{0, 0, 9, 1, 0, 0, 0, 1, 5})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		dims, px, err := DecodeIDX(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		require.Equal(t, n, len(px))
	})
}

// FuzzDecodeRaw: run --input FILE --shape S --dtype T with any bytes, shape and type.
func FuzzDecodeRaw(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, uint8(graph.Float32), "1")
	f.Add(make([]byte, 16), uint8(graph.Int64), "2")
	f.Add([]byte{}, uint8(graph.Float32), "4611686018427387904,4")
	f.Add([]byte{1}, uint8(graph.Bool), "1,1")
	f.Add([]byte{}, uint8(graph.String), "0")
	f.Add(make([]byte, 8), uint8(graph.Float16), "2,2")
	f.Fuzz(func(t *testing.T, data []byte, dt uint8, shape string) {
		var dims []int
		for _, p := range strings.Split(shape, ",") {
			var v int
			for _, c := range p {
				if c < '0' || c > '9' {
					return
				}
				v = v*10 + int(c-'0')
				if v > 1<<62 {
					return
				}
			}
			dims = append(dims, v)
		}
		x, err := DecodeRaw(data, graph.DType(dt), dims)
		if err != nil {
			return
		}
		require.Equal(t, graph.NumElements(dims), x.Len())
	})
}

// FuzzImageDir: a folder of one image and a labels.txt, both fuzzed, is opened and its
// first sample read, or refused; never a panic.
func FuzzImageDir(f *testing.F) {
	var b bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.Gray{Y: 200})
	require.NoError(f, png.Encode(&b, img))
	f.Add([]byte("a.png 1\n"), b.Bytes())
	f.Add([]byte("# comment\na.png 0\n"), b.Bytes())
	f.Add([]byte("a.png -3\n"), b.Bytes())
	f.Add([]byte("a.png cat\n"), b.Bytes())
	f.Add([]byte("../a.png 0\n"), b.Bytes())
	f.Add([]byte("a.png 0\n"), b.Bytes()[:len(b.Bytes())/2])
	f.Add([]byte("a.png 0\n"), []byte("not an image"))
	f.Add([]byte("a.png 0 extra\n\n\n"), []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})
	in := &graph.Value{Name: "x", DType: graph.Float32, HasShape: true,
		Shape: graph.Shape{{Size: -1, Param: "N"}, {Size: 1}, {Size: -1, Param: "h"}, {Size: -1, Param: "w"}}}
	f.Fuzz(func(t *testing.T, labels, pic []byte) {
		if len(pic) > 1<<16 {
			return
		}
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.txt"), labels, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.png"), pic, 0o644))
		// A decodable header may declare a huge picture: the size is bounded before
		// the pixels are decoded.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(pic)); err == nil && cfg.Width*cfg.Height > 1<<20 {
			return
		}
		s, err := Open(dir, Options{Inputs: []*graph.Value{in}})
		if err != nil || s.Len() == 0 {
			return
		}
		_, _ = s.Batch(0, 1)
	})
}
