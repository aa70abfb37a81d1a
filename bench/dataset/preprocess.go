package dataset

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"

	"golang.org/x/image/draw"
)

// Preprocess turns a decoded image into model input values. It is parsed from the
// --preprocess spec: a preset (pixel, imagenet, yolo) and/or comma-separated steps,
// applied in this order: the geometric steps as written (resize, resize-short, crop,
// letterbox), then value = (pixel*scale - mean[c]) / std[c] on RGB (or BGR) channels,
// then the layout.
type Preprocess struct {
	// Spec is the text it was parsed from.
	Spec string
	geo  []geoStep
	// Scale multiplies the 0..255 pixel first (default 1/255, today's behaviour).
	Scale float32
	// Mean and Std are per channel (one value: every channel). Empty: 0 and 1.
	Mean, Std []float32
	BGR       bool
	// Layout is "nchw", "nhwc" or "" (from the model's input shape; NCHW when it does
	// not tell).
	Layout string
}

type geoStep struct {
	kind string // resize, resize-short, crop, letterbox
	h, w int    // 0: the model input's size (letterbox, resize and crop without sizes)
}

var (
	imagenetMean = []float32{0.485, 0.456, 0.406}
	imagenetStd  = []float32{0.229, 0.224, 0.225}
)

// PreprocessHelp describes the spec, for flag usage and errors.
const PreprocessHelp = "image preprocessing: a preset (pixel = x/255; imagenet = resize-short=256,crop=224,224, " +
	"ImageNet mean/std, RGB, NCHW; yolo = letterbox to the input size, x/255) and/or comma-separated steps " +
	"resize=H,W resize-short=S crop=H,W letterbox=H,W mean=a,b,c std=a,b,c scale=F bgr layout=nchw|nhwc"

// ParsePreprocess parses a --preprocess spec ("" = pixel).
func ParsePreprocess(spec string) (*Preprocess, error) {
	p := &Preprocess{Spec: spec, Scale: 1.0 / 255}
	if strings.TrimSpace(spec) == "" {
		p.Spec = "pixel"
		return p, nil
	}
	// Split into steps: a token with '=' or a bare word starts a step; a bare number
	// continues the previous step's values (resize=224,224).
	type rawStep struct {
		key  string
		vals []string
	}
	var steps []rawStep
	for _, tok := range strings.Split(spec, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return nil, fmt.Errorf("--preprocess %q: empty step", spec)
		}
		if k, v, ok := strings.Cut(tok, "="); ok {
			steps = append(steps, rawStep{strings.ToLower(strings.TrimSpace(k)), []string{strings.TrimSpace(v)}})
			continue
		}
		if _, err := strconv.ParseFloat(tok, 64); err == nil && len(steps) > 0 && len(steps[len(steps)-1].vals) > 0 {
			steps[len(steps)-1].vals = append(steps[len(steps)-1].vals, tok)
			continue
		}
		steps = append(steps, rawStep{key: strings.ToLower(tok)})
	}
	for i, s := range steps {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("--preprocess %q: step %q: %s", spec, s.key, fmt.Sprintf(format, a...))
		}
		ints := func(n ...int) ([]int, error) {
			ok := false
			for _, c := range n {
				ok = ok || len(s.vals) == c
			}
			if !ok {
				return nil, bad("want %s value(s), got %d", strings.Trim(strings.Join(strings.Fields(fmt.Sprint(n)), " or "), "[]"), len(s.vals))
			}
			out := make([]int, len(s.vals))
			for j, v := range s.vals {
				x, err := strconv.Atoi(v)
				if err != nil || x <= 0 {
					return nil, bad("%q is not a positive integer", v)
				}
				out[j] = x
			}
			return out, nil
		}
		floats := func() ([]float32, error) {
			if len(s.vals) == 0 {
				return nil, bad("needs values")
			}
			out := make([]float32, len(s.vals))
			for j, v := range s.vals {
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, bad("%q is not a number", v)
				}
				out[j] = float32(x)
			}
			return out, nil
		}
		switch s.key {
		case "pixel", "imagenet", "yolo":
			if i != 0 {
				return nil, bad("a preset must come first")
			}
			switch s.key {
			case "imagenet":
				p.geo = append(p.geo, geoStep{"resize-short", 256, 256}, geoStep{"crop", 224, 224})
				p.Mean, p.Std = imagenetMean, imagenetStd
			case "yolo":
				p.geo = append(p.geo, geoStep{kind: "letterbox"})
			}
		case "resize", "crop", "letterbox":
			v, err := ints(0, 1, 2)
			if err != nil {
				return nil, err
			}
			g := geoStep{kind: s.key}
			switch len(v) {
			case 1:
				g.h, g.w = v[0], v[0]
			case 2:
				g.h, g.w = v[0], v[1]
			}
			p.geo = append(p.geo, g)
		case "resize-short":
			v, err := ints(1)
			if err != nil {
				return nil, err
			}
			p.geo = append(p.geo, geoStep{"resize-short", v[0], v[0]})
		case "mean", "std":
			v, err := floats()
			if err != nil {
				return nil, err
			}
			if len(v) != 1 && len(v) != 3 {
				return nil, bad("want 1 or 3 values, got %d", len(v))
			}
			if s.key == "mean" {
				p.Mean = v
			} else {
				for _, x := range v {
					if x == 0 {
						return nil, bad("a standard deviation of 0")
					}
				}
				p.Std = v
			}
		case "scale":
			v, err := floats()
			if err != nil {
				return nil, err
			}
			if len(v) != 1 {
				return nil, bad("want one value")
			}
			p.Scale = v[0]
		case "bgr", "rgb":
			if len(s.vals) != 0 {
				return nil, bad("takes no value")
			}
			p.BGR = s.key == "bgr"
		case "layout":
			if len(s.vals) != 1 || (s.vals[0] != "nchw" && s.vals[0] != "nhwc") {
				return nil, bad("want layout=nchw or layout=nhwc")
			}
			p.Layout = s.vals[0]
		default:
			return nil, fmt.Errorf("--preprocess %q: unknown step %q (%s)", spec, s.key, PreprocessHelp)
		}
	}
	return p, nil
}

// FixedSize reports the output size when the geometric steps fix it: the last step
// that sets both sides (resize=H,W, crop, letterbox). inH, inW are the model input's
// height and width (0 when symbolic) for steps given without a size.
func (p *Preprocess) FixedSize(inH, inW int) (h, w int, ok bool, err error) {
	for _, g := range p.geo {
		gh, gw, err := g.size(inH, inW)
		if err != nil {
			return 0, 0, false, err
		}
		if g.kind != "resize-short" {
			h, w, ok = gh, gw, true
		}
	}
	return h, w, ok, nil
}

func (g geoStep) size(inH, inW int) (int, int, error) {
	if g.h > 0 {
		return g.h, g.w, nil
	}
	if inH <= 0 || inW <= 0 {
		return 0, 0, fmt.Errorf("%s without a size takes the model input's height and width, which are symbolic: give %s=H,W or --input-shape", g.kind, g.kind)
	}
	return inH, inW, nil
}

// OutputSize is the size an image of h x w has after the geometric steps.
func (p *Preprocess) OutputSize(h, w, inH, inW int) (int, int, error) {
	for _, g := range p.geo {
		gh, gw, err := g.size(inH, inW)
		if err != nil {
			return 0, 0, err
		}
		switch g.kind {
		case "resize-short":
			h, w = shortSide(h, w, gh)
		default:
			h, w = gh, gw
		}
	}
	return h, w, nil
}

// shortSide scales h x w so that the shorter side is s (torchvision's Resize(int):
// the long side is truncated).
func shortSide(h, w, s int) (int, int) {
	if h <= w {
		return s, max(1, int(float64(s)*float64(w)/float64(h)))
	}
	return max(1, int(float64(s)*float64(h)/float64(w))), s
}

// Geometry applies the geometric steps (bilinear resampling, x/image's draw.BiLinear,
// which widens its kernel when downscaling as PIL's antialiased resize does).
func (p *Preprocess) Geometry(img image.Image, inH, inW int) (*image.RGBA, error) {
	b := img.Bounds()
	cur := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(cur, cur.Bounds(), img, b.Min, draw.Src)
	for _, g := range p.geo {
		gh, gw, err := g.size(inH, inW)
		if err != nil {
			return nil, err
		}
		h, w := cur.Bounds().Dy(), cur.Bounds().Dx()
		switch g.kind {
		case "resize":
			cur = scaleTo(cur, gh, gw)
		case "resize-short":
			nh, nw := shortSide(h, w, gh)
			cur = scaleTo(cur, nh, nw)
		case "crop":
			// Centre crop; a side shorter than the crop is padded with zeros (torchvision).
			dst := image.NewRGBA(image.Rect(0, 0, gw, gh))
			top := int(math.RoundToEven(float64(h-gh) / 2)) // Python round(), as torchvision
			left := int(math.RoundToEven(float64(w-gw) / 2))
			draw.Draw(dst, dst.Bounds(), &image.Uniform{color.RGBA{0, 0, 0, 255}}, image.Point{}, draw.Src)
			draw.Draw(dst, dst.Bounds(), cur, image.Pt(left, top), draw.Src)
			cur = dst
		case "letterbox":
			// Keep the aspect ratio, pad with grey 114 around the centred image (YOLOv5).
			r := math.Min(float64(gh)/float64(h), float64(gw)/float64(w))
			nh, nw := max(1, int(math.Round(float64(h)*r))), max(1, int(math.Round(float64(w)*r)))
			sc := cur
			if nh != h || nw != w {
				sc = scaleTo(cur, nh, nw)
			}
			dst := image.NewRGBA(image.Rect(0, 0, gw, gh))
			draw.Draw(dst, dst.Bounds(), &image.Uniform{color.RGBA{114, 114, 114, 255}}, image.Point{}, draw.Src)
			top := int(math.RoundToEven(float64(gh-nh)/2 - 0.1))
			left := int(math.RoundToEven(float64(gw-nw)/2 - 0.1))
			draw.Draw(dst, image.Rect(left, top, left+nw, top+nh), sc, image.Point{}, draw.Src)
			cur = dst
		}
	}
	return cur, nil
}

func scaleTo(src *image.RGBA, h, w int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return dst
}

// Values writes the image's channels as model values: c = 1 gives the luminance,
// c = 3 RGB (BGR with the bgr step); raw returns the 0..255 pixel unchanged (for
// inputs the model editor made uint8). The layout is CHW or HWC.
func (p *Preprocess) Values(img *image.RGBA, c int, nhwc, raw bool) ([]float32, error) {
	h, w := img.Bounds().Dy(), img.Bounds().Dx()
	mean, std := p.Mean, p.Std
	for _, v := range [][]float32{mean, std} {
		if len(v) > 1 && len(v) != c {
			return nil, fmt.Errorf("--preprocess %q: %d mean/std values for a %d-channel input", p.Spec, len(v), c)
		}
	}
	at := func(v []float32, ch int, def float32) float32 {
		switch len(v) {
		case 0:
			return def
		case 1:
			return v[0]
		}
		return v[ch]
	}
	out := make([]float32, c*h*w)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			px := row[4*x : 4*x+3]
			for ch := 0; ch < c; ch++ {
				var v float32
				if c == 1 {
					v = float32(color.GrayModel.Convert(color.RGBA{px[0], px[1], px[2], 255}).(color.Gray).Y)
				} else {
					src := ch
					if p.BGR {
						src = 2 - ch
					}
					v = float32(px[src])
				}
				if !raw {
					v = (v*p.Scale - at(mean, ch, 0)) / at(std, ch, 1)
				}
				if nhwc {
					out[(y*w+x)*c+ch] = v
				} else {
					out[ch*h*w+y*w+x] = v
				}
			}
		}
	}
	return out, nil
}
