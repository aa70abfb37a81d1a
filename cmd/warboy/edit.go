package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/quantizer"
	"github.com/warboy-sim/warboy/runtime"
)

func init() {
	register(&command{name: "edit", summary: "make a quantized model's input or output raw uint8/int8 (model editor)", run: editCmd})
}

type editChange struct {
	Kind      string  `json:"kind"` // "input" or "output"
	Name      string  `json:"name"`
	DType     string  `json:"dtype"`
	Scale     float32 `json:"scale"`
	ZeroPoint int     `json:"zero_point"`
}

type editReport struct {
	Model   string       `json:"model"`
	Output  string       `json:"output"`
	Changes []editChange `json:"changes"`
}

func editCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("edit", "MODEL -o OUT.onnx [--input-type uint8|int8 [--input-name NAME] [--input-params pixel|model|SCALE,ZP]] "+
		"[--output-type int8|uint8 [--output-name NAME] [--output-range MIN,MAX]] [--json]", stderr)
	out := fs.String("o", "", "output ONNX file (required)")
	inType := fs.String("input-type", "", "make the input raw uint8 or int8 (its QuantizeLinear is removed)")
	inName := fs.String("input-name", "", "input to convert (default: the only input)")
	aliasFlag(fs, "input", "input-name")
	inParams := fs.String("input-params", "pixel", "raw input encoding, real = (q - zp) * scale: pixel (raw pixels of a model that takes pixel/255: "+
		"uint8 1/255,0 and int8 1/255,-128), model (the model's own quantization of the input), or SCALE,ZP")
	outType := fs.String("output-type", "", "make the output raw int8 or uint8 (its DequantizeLinear is removed)")
	outName := fs.String("output-name", "", "output to convert (default: the only output)")
	aliasFlag(fs, "output", "output-name")
	outRange := fs.String("output-range", "", "MIN,MAX: quantize the raw output for this range instead of the calibrated one")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("edit takes one MODEL")
	}
	if *out == "" {
		return usageErr("-o OUT.onnx is required")
	}
	if *inType == "" && *outType == "" {
		return usageErr("nothing to do: give --input-type and/or --output-type")
	}
	var inDT, outDT graph.DType
	var inP *quantizer.QParams
	if *inType != "" {
		if inDT, err = rawType(*inType); err != nil {
			return err
		}
		if inP, err = inputParams(*inParams, inDT); err != nil {
			return err
		}
	}
	if *outType != "" {
		if outDT, err = rawType(*outType); err != nil {
			return err
		}
	}
	var rng *[2]float32
	if *outRange != "" {
		a, b, err := parsePair(*outRange)
		if err != nil {
			return usageErr("--output-range: %v", err)
		}
		if a >= b {
			return usageErr("--output-range %s is empty: MIN must be below MAX", *outRange)
		}
		rng = &[2]float32{float32(a), float32(b)}
	}
	if err := atomicfile.CheckWritable(*out); err != nil {
		return err
	}
	m, err := loadModel(pos[0], stderr)
	if err != nil {
		return err
	}
	if !runtime.IsQuantized(m) {
		q := strings.TrimSuffix(pos[0], filepath.Ext(pos[0])) + "_int8.onnx"
		return fmt.Errorf("%s is a float32 model: the editor works on quantized models (it replaces their boundary QuantizeLinear/DequantizeLinear). "+
			"Quantize it first (with --calib-data DIR for your own calibration images), then edit the result:\n  warboy quantize %s -o %s\n  warboy edit %s %s -o %s",
			pos[0], pos[0], q, q, strings.Join(editArgs(args, pos[0]), " "), *out)
	}
	rep := editReport{Model: pos[0], Output: *out}
	if *inType != "" {
		name, err := pickName(*inName, m.Graph.Inputs, "input")
		if err != nil {
			return err
		}
		if err := quantizer.ConvertInputType(m, name, inDT, inP); err != nil {
			return err
		}
		rep.Changes = append(rep.Changes, change(m, "input", name, false))
	}
	if *outType != "" {
		name, err := pickName(*outName, m.Graph.Outputs, "output")
		if err != nil {
			return err
		}
		if err := quantizer.ConvertOutputType(m, name, outDT, rng); err != nil {
			return err
		}
		rep.Changes = append(rep.Changes, change(m, "output", name, true))
	}
	if _, err := m.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return fmt.Errorf("the edited model is invalid: %w", err)
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	for _, c := range rep.Changes {
		fmt.Fprintf(stdout, "%s %q: raw %s, scale %g, zero point %d (real = (q - zero_point) * scale)\n", c.Kind, c.Name, c.DType, c.Scale, c.ZeroPoint)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// editArgs returns the command's flags other than the model and -o, to repeat them in
// advice.
func editArgs(args []string, model string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == model:
		case a == "-o" || a == "--o":
			i++
		case strings.HasPrefix(a, "-o=") || strings.HasPrefix(a, "--o="):
		default:
			out = append(out, a)
		}
	}
	return out
}

func change(m *graph.Model, kind, name string, output bool) editChange {
	dt, p, _, _ := quantizer.RawEncoding(m, name, output)
	return editChange{Kind: kind, Name: name, DType: dt.String(), Scale: p.Scale, ZeroPoint: p.ZeroPoint}
}

func rawType(s string) (graph.DType, error) {
	switch strings.ToLower(s) {
	case "uint8", "u8":
		return graph.Uint8, nil
	case "int8", "i8":
		return graph.Int8, nil
	}
	return 0, usageErr("type %q: want uint8 or int8", s)
}

// inputParams parses --input-params for the given raw type (nil: the model's own).
func inputParams(s string, dt graph.DType) (*quantizer.QParams, error) {
	switch strings.ToLower(s) {
	case "model":
		return nil, nil
	case "pixel", "":
		p := quantizer.PixelParams
		if dt == graph.Int8 {
			p.ZeroPoint -= 128
		}
		return &p, nil
	}
	a, b, err := parsePair(s)
	if err != nil {
		return nil, usageErr("--input-params: %v (want pixel, model or SCALE,ZP)", err)
	}
	if !(float32(a) > 0) || b != math.Trunc(b) {
		return nil, usageErr("--input-params %s: the scale must be positive and the zero point an integer", s)
	}
	return &quantizer.QParams{Scale: float32(a), ZeroPoint: int(b)}, nil
}

// parsePair parses two comma-separated numbers, each finite as a float32 (the type
// the model stores them in): NaN, Inf and 1e39 are refused, not written into a model.
func parsePair(s string) (float64, float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("%q is not two comma-separated numbers", s)
	}
	var v [2]float64
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%q is not a number", p)
		}
		if math.IsNaN(x) || math.Abs(x) > math.MaxFloat32 {
			return 0, 0, fmt.Errorf("%q is not a finite float32 number", p)
		}
		v[i] = x
	}
	return v[0], v[1], nil
}

func pickName(name string, vals []*graph.Value, kind string) (string, error) {
	if name != "" {
		return name, nil
	}
	if len(vals) != 1 {
		names := make([]string, len(vals))
		for i, v := range vals {
			names[i] = v.Name
		}
		return "", usageErr("the model has %d %ss (%s): name one with --%s-name", len(vals), kind, strings.Join(names, ", "), kind)
	}
	return vals[0].Name, nil
}
