package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/quantizer"
)

// defaultMethod is the calibration method of `warboy quantize` (docs/quantizer.md has
// the accuracy of every method on the bundled models and why this one).
var defaultMethod = quantizer.DefaultMethod.String()

func init() {
	register(&command{name: "quantize", summary: "calibrate a float32 model and write it as int8 (QDQ ONNX)", run: quantizeCmd})
}

type quantizeReport struct {
	Model        string                   `json:"model"`
	Output       string                   `json:"output"`
	Format       string                   `json:"format"`
	Method       string                   `json:"method"`
	Percentile   float64                  `json:"percentile"`
	CalibData    string                   `json:"calib_data"`
	CalibSamples int                      `json:"calib_samples"`
	Preprocess   string                   `json:"preprocess"`
	InputShapes  map[string][]int         `json:"input_shapes"`
	RangesIn     string                   `json:"ranges_in"`
	RangesOut    string                   `json:"ranges_out"`
	Activations  int                      `json:"quantized_activations"`
	Weights      int                      `json:"quantized_weights"`
	Biases       int                      `json:"quantized_biases"`
	Notes        []string                 `json:"float_nodes"`
	Warnings     []string                 `json:"warnings"`
	Ranges       []quantizer.TensorReport `json:"ranges"`
	CollectSec   float64                  `json:"calibration_seconds"`
	SearchSec    float64                  `json:"range_search_seconds"`
	TotalSec     float64                  `json:"total_seconds"`
	Bytes        int                      `json:"bytes"`
	// collapsed is the calibration's note on ranges left at MIN_MAX (printed with -v).
	collapsed string
}

func quantizeCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", "MODEL -o OUT.onnx [--calib-data DIR] [--preprocess SPEC] [--input-shape NAME=d0,d1,...] [--calib-n N] [--method M] [--percentile P] "+
		"[--ranges-out R.json] [--ranges-in R.json] [--format qdq|qoperator] [--dynamic] [--exclude NODE,...] [-v] [--json]", stderr)
	out := fs.String("o", "", "output ONNX file (required; written only if everything succeeds)")
	calibData := fs.String("calib-data", projectPath(defaultData), "calibration data: "+dataHelp)
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	split := fs.String("calib-split", "train", "IDX split (file prefix) of the calibration data")
	calibN := fs.Int("calib-n", 1000, "number of calibration images")
	batch := fs.Int("batch", 100, "calibration batch size (a model with a static batch uses its own)")
	methodName := fs.String("method", defaultMethod, "calibration method: "+strings.Join(quantizer.MethodNames(), ", "))
	percentile := fs.Float64("percentile", quantizer.DefaultPercentile, "percentage of values kept by the PERCENTILE methods")
	rangesOut := fs.String("ranges-out", "", "also write the calibrated ranges (JSON: {\"tensor\": [min, max]})")
	rangesIn := fs.String("ranges-in", "", "quantize with these ranges instead of calibrating")
	formatName := fs.String("format", "qdq", "output form: qdq (QuantizeLinear/DequantizeLinear) or qoperator (QLinearConv, QLinearMatMul)")
	dynamic := fs.Bool("dynamic", false, "weight-only int8 with activations quantized at run time (MatMul/Gemm; no calibration)")
	exclude := fs.String("exclude", "", "comma-separated node names to keep in float32")
	threads := fs.Int("threads", 0, "threads (0 = all cores)")
	verbose := fs.Bool("v", false, "print every tensor's observed and chosen range, and the nodes left in float32")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	set := setFlags(fs)
	if len(pos) != 1 {
		return usageErr("quantize takes one MODEL")
	}
	if *out == "" {
		return usageErr("-o OUT.onnx is required")
	}
	method, err := quantizer.ParseMethod(*methodName)
	if err != nil {
		return usageErr("%v", err)
	}
	format, err := quantizer.ParseFormat(*formatName)
	if err != nil {
		return usageErr("%v", err)
	}
	if !(*percentile > 0 && *percentile <= 100) {
		return usageErr("--percentile %v is outside (0, 100]", *percentile)
	}
	if *batch <= 0 {
		return usageErr("--batch must be > 0")
	}
	if *dynamic {
		for _, f := range []string{"ranges-in", "ranges-out", "method", "calib-n", "calib-data", "percentile", "format", "preprocess"} {
			if set[f] {
				return usageErr("--dynamic quantizes activations at run time: --%s does not apply", f)
			}
		}
	} else if *rangesIn == "" && *calibN <= 0 {
		return usageErr("the calibration set is empty (--calib-n %d); give --calib-n > 0 or --ranges-in", *calibN)
	}
	var excluded []string
	for _, e := range strings.Split(*exclude, ",") {
		if e = strings.TrimSpace(e); e != "" {
			excluded = append(excluded, e)
		}
	}
	// Refuse a bad output path now, not after the calibration.
	for _, p := range []string{*out, *rangesOut} {
		if p != "" {
			if err := atomicfile.CheckWritable(p); err != nil {
				return err
			}
		}
	}
	start := time.Now()
	m, err := loadModel(pos[0])
	if err != nil {
		return err
	}
	if err := quantizer.CheckFloat(m); err != nil {
		return alreadyQuantized(pos[0], err)
	}
	rep := &quantizeReport{Model: pos[0], Output: *out, Format: format.String(), Notes: []string{}, Warnings: []string{}}
	warn := func(s string) {
		rep.Warnings = append(rep.Warnings, s)
		fmt.Fprintln(stderr, "warning:", s)
	}
	note := func(s string) { rep.Notes = append(rep.Notes, s) }

	var q *graph.Model
	var rangesJSON []byte
	var ranges quantizer.Ranges
	switch {
	case *dynamic:
		rep.Method, rep.Format = "dynamic", "dynamic"
		q, err = quantizer.QuantizeDynamic(m, quantizer.DynamicOptions{Exclude: excluded, Notes: note})
	default:
		qopts := quantizer.QuantOptions{Format: format, Exclude: excluded, Notes: note}
		if *rangesIn != "" {
			if ranges, err = quantizer.LoadRanges(*rangesIn); err != nil {
				return err
			}
			rep.RangesIn = *rangesIn
			rep.Method = "ranges from " + filepath.Base(*rangesIn)
			qopts.CalibMethod = rep.Method
		} else {
			var crep *calibResult
			ranges, crep, err = calibrateFromDir(m, method, calibSource{*calibData, *split, *preprocess, shapes}, *calibN, *batch, *percentile, *threads, excluded, stderr, warn)
			if err != nil {
				return err
			}
			rep.Method = method.String()
			rep.CalibData = *calibData
			if crep.kind == "idx" {
				rep.CalibData += " (" + *split + ")"
			}
			if *preprocess != "" {
				rep.Preprocess = *preprocess
			}
			rep.CalibSamples = crep.Samples
			rep.Ranges = crep.Tensors
			rep.collapsed = crep.CollapsedNote()
			rep.CollectSec = crep.CollectTime.Seconds()
			rep.SearchSec = crep.SearchTime.Seconds()
			if method.Kind() == quantizer.KindPercentile {
				rep.Percentile = *percentile
				qopts.Percentile = *percentile
			}
			qopts.CalibMethod, qopts.CalibSamples = method.String(), crep.Samples
		}
		if err == nil && len(shapes) > 0 {
			// The written model takes exactly the --input-shape shapes: shape
			// subgraphs (Shape -> Gather -> Concat) fold to constants.
			err = m.BindInputShapes(shapes)
			rep.InputShapes = shapes
		}
		if err == nil {
			q, err = quantizer.Quantize(m, ranges, qopts)
		}
		if err == nil && *rangesOut != "" {
			rep.RangesOut = *rangesOut
			rangesJSON, err = ranges.Encode()
		}
	}
	if err != nil {
		if errors.Is(err, quantizer.ErrAlreadyQuantized) {
			return alreadyQuantized(pos[0], err)
		}
		var miss *quantizer.MissingRangesError
		if errors.As(err, &miss) && *rangesIn != "" {
			return partialRanges(miss, ranges, *rangesIn, pos[0], *out, *exclude)
		}
		return err
	}
	data, err := q.Encode()
	if err != nil {
		return err
	}
	// Everything succeeded: only now write the outputs.
	if err := atomicfile.WriteFile(*out, data); err != nil {
		return err
	}
	if rangesJSON != nil {
		if err := atomicfile.WriteFile(*rangesOut, rangesJSON); err != nil {
			return err
		}
	}
	rep.Bytes = len(data)
	rep.Activations, rep.Weights, rep.Biases = countQuantized(q)
	rep.TotalSec = time.Since(start).Seconds()
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	printQuantize(stdout, rep, *verbose)
	return nil
}

// partialRanges explains a --ranges-in file that lacks tensors, and what to run.
func partialRanges(miss *quantizer.MissingRangesError, ranges quantizer.Ranges, file, model, out, exclude string) error {
	list := miss.Missing
	if len(list) > 5 {
		list = append(list[:5:5], fmt.Sprintf("... (%d more)", len(miss.Missing)-5))
	}
	known := 0
	for _, n := range miss.Needed {
		if _, ok := ranges[n]; ok {
			known++
		}
	}
	why := ""
	if known == 0 {
		why = fmt.Sprintf("; none of its %d names is a tensor quantized in %s (ranges of another model, or of another --exclude list?)", len(ranges), model)
	}
	cmd := "warboy quantize " + model + " --calib-data DIR -o " + out
	if exclude != "" {
		cmd += " --exclude " + exclude
	}
	return fmt.Errorf("--ranges-in %s has no range for %d of the %d tensors to quantize: %s%s.\n"+
		"Calibrate on data instead, and save the complete ranges for next time:\n  %s --ranges-out %s",
		file, len(miss.Missing), len(miss.Needed), strings.Join(list, ", "), why, cmd, file)
}

func alreadyQuantized(path string, err error) error {
	return fmt.Errorf("%s: %w; nothing to do (warboy eval and warboy run execute it as it is)", path, err)
}

// calibSource is where calibration samples come from.
type calibSource struct {
	path, split, preprocess string
	shapes                  inputShapes
}

type calibResult struct {
	*quantizer.CalibReport
	kind string
}

// calibrateFromDir runs calibration over the first n samples of a data set.
func calibrateFromDir(m *graph.Model, method quantizer.Method, src calibSource, n, batch int, percentile float64, threads int,
	exclude []string, stderr io.Writer, warn func(string)) (quantizer.Ranges, *calibResult, error) {
	set, err := openData(src.path, src.split, src.preprocess, m, src.shapes, n)
	if err != nil {
		return nil, nil, fmt.Errorf("calibration data: %w", err)
	}
	if set.Len() < n {
		warn(fmt.Sprintf("--calib-n %d but %s has %d samples: calibrating on %d", n, set.Name, set.Len(), set.Len()))
		n = set.Len()
	}
	bar := progress.New(stderr, "calibrate", n)
	cal, err := quantizer.Calibrate(m, method, set, quantizer.CalibOptions{Percentile: percentile, Warn: warn, Threads: threads,
		BatchSize: batch, Exclude: exclude, Progress: bar.Callback()})
	bar.Done()
	if err != nil {
		return nil, nil, err
	}
	r, rep, err := cal.ComputeRangesFor(method)
	if err != nil {
		return nil, nil, err
	}
	return r, &calibResult{rep, set.Kind}, nil
}

// countQuantized counts the activations (Q/DQ pairs), int8 weights and int32 biases
// of a quantized model.
func countQuantized(q *graph.Model) (acts, weights, biases int) {
	g := q.Graph
	for _, n := range g.Nodes {
		switch n.OpType {
		case "QuantizeLinear", "DynamicQuantizeLinear":
			acts++
		case "DequantizeLinear":
			// Weights and biases are stored quantized: a DequantizeLinear of an initializer.
			if t := g.Initializers[n.Input(0)]; t != nil && t.Len() > 1 {
				switch t.DType {
				case graph.Int8:
					weights++
				case graph.Int32:
					biases++
				}
			}
		case "MatMulInteger", "QLinearConv", "QLinearMatMul":
			idx := map[string][2]int{"MatMulInteger": {1, -1}, "QLinearConv": {3, 8}, "QLinearMatMul": {3, -1}}[n.OpType]
			if t := g.Initializers[n.Input(idx[0])]; t != nil && t.DType == graph.Int8 {
				weights++
			}
			if idx[1] >= 0 && g.Initializers[n.Input(idx[1])] != nil {
				biases++
			}
		}
	}
	return acts, weights, biases
}

func printQuantize(w io.Writer, rep *quantizeReport, verbose bool) {
	if verbose && len(rep.Ranges) > 0 {
		rows := make([][]string, 0, len(rep.Ranges))
		for _, t := range rep.Ranges {
			note := ""
			if t.Collapsed && !strings.HasPrefix(rep.Method, "MIN_MAX") {
				note = "= MIN_MAX"
			}
			if t.Zeros == 1 {
				note = "always 0"
			}
			if t.SharedWith == "fixed" {
				note = "fixed by the spec"
			} else if t.SharedWith != "" {
				note = "= " + t.SharedWith
			}
			rows = append(rows, []string{t.Name, fmt.Sprintf("[%.5g, %.5g]", t.ObservedMin, t.ObservedMax),
				fmt.Sprintf("[%.5g, %.5g]", t.Min, t.Max), fmt.Sprintf("%.3f", 100*t.Clipped), fmt.Sprintf("%.1f", 100*t.Zeros), note})
		}
		table(w, []string{"tensor", "observed", "range", "clipped %", "zeros %", "note"}, rows)
		fmt.Fprintln(w)
	}
	if verbose {
		if rep.collapsed != "" {
			fmt.Fprintln(w, "note:", rep.collapsed)
		}
		for _, n := range rep.Notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
	fmt.Fprintf(w, "model:       %s\n", rep.Model)
	switch {
	case rep.Format == "dynamic":
		fmt.Fprintf(w, "quantized:   dynamic: %d weights int8 per channel, %d activations quantized to uint8 at run time (DynamicQuantizeLinear)\n",
			rep.Weights, rep.Activations)
	case rep.RangesIn != "":
		fmt.Fprintf(w, "ranges:      %s\n", rep.RangesIn)
	default:
		m := rep.Method
		if rep.Percentile > 0 {
			m += fmt.Sprintf(" (%g %%)", rep.Percentile)
		}
		fmt.Fprintf(w, "calibration: %s on %d images of %s (%.2f s, range search %.3f s)\n", m, rep.CalibSamples, rep.CalibData, rep.CollectSec, rep.SearchSec)
	}
	if rep.Format != "dynamic" {
		fmt.Fprintf(w, "quantized:   %d activations int8, %d weights int8 per channel, %d biases int32 (%s)\n",
			rep.Activations, rep.Weights, rep.Biases, rep.Format)
	}
	if len(rep.Notes) > 0 {
		fmt.Fprintf(w, "float32:     %d node(s) left in float32 (-v lists them)\n", len(rep.Notes))
	}
	fmt.Fprintf(w, "wrote:       %s (%d bytes)", rep.Output, rep.Bytes)
	if rep.RangesOut != "" {
		fmt.Fprintf(w, ", %s", rep.RangesOut)
	}
	fmt.Fprintf(w, " in %.2f s\n", rep.TotalSec)
}
