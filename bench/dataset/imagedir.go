package dataset

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register decoders
	_ "image/png"
	"os"
	"path/filepath"
)

// LoadImageDir reads a directory of PNG/JPEG images described by dir/labels.txt, one
// image per line: "FILE LABEL" (LABEL an integer class index; lines starting with #
// are comments). All images must have the same size. Grayscale images give C=1,
// anything else C=3 (RGB). Pixels are preprocessed as pixel/255 by default.
func LoadImageDir(dir string) (*Dataset, error) {
	lf := filepath.Join(dir, "labels.txt")
	names, labels, err := readLabels(lf)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: filepath.Base(dir), Scale: 1.0 / 255}
	for i, name := range names {
		img, err := decodeImage(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lf, err)
		}
		b := img.Bounds()
		c := 3
		if isGrey(img.ColorModel()) {
			c = 1
		}
		if ds.N == 0 {
			ds.C, ds.H, ds.W = c, b.Dy(), b.Dx()
		} else if b.Dy() != ds.H || b.Dx() != ds.W || c != ds.C {
			return nil, fmt.Errorf("%s: image is %dx%dx%d, the first image was %dx%dx%d", name, c, b.Dy(), b.Dx(), ds.C, ds.H, ds.W)
		}
		ds.Pixels = appendPixels(ds.Pixels, img, c)
		ds.Labels = append(ds.Labels, labels[i])
		ds.N++
	}
	if ds.N == 0 {
		return nil, fmt.Errorf("%s: no images listed", lf)
	}
	return ds, nil
}

func decodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// appendPixels appends the image in CHW order.
func appendPixels(dst []uint8, img image.Image, c int) []uint8 {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	start := len(dst)
	dst = append(dst, make([]uint8, c*h*w)...)
	px := dst[start:]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			col := img.At(b.Min.X+x, b.Min.Y+y)
			if c == 1 {
				px[y*w+x] = color.GrayModel.Convert(col).(color.Gray).Y
				continue
			}
			r, g, bb, _ := col.RGBA()
			px[0*h*w+y*w+x] = uint8(r >> 8)
			px[1*h*w+y*w+x] = uint8(g >> 8)
			px[2*h*w+y*w+x] = uint8(bb >> 8)
		}
	}
	return dst
}
