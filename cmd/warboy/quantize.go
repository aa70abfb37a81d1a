package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
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
	Auto         *autoReport              `json:"auto"`
	Fallback     *fallbackReport          `json:"fallback"`
	CollectSec   float64                  `json:"calibration_seconds"`
	SearchSec    float64                  `json:"range_search_seconds"`
	TotalSec     float64                  `json:"total_seconds"`
	Bytes        int                      `json:"bytes"`
	// collapsed is the calibration's note on ranges left at MIN_MAX (printed with -v).
	collapsed string
	// lstms counts the DynamicQuantizeLSTM nodes of a dynamic model (text report).
	lstms int
}

func quantizeCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", "MODEL -o OUT.onnx [--calib-data DIR] [--preprocess SPEC] [--input-shape NAME=d0,d1,...] [--calib-n N] [--method M|auto] [--percentile P] "+
		"[--ranges-out R.json] [--ranges-in R.json] [--format qdq|qoperator] [--dynamic] [--exclude NODE,...] "+
		"[--val-data DIR] [--val-n N] [--accuracy-budget X] [-v] [--json]", stderr)
	out := fs.String("o", "", "output ONNX file (required; written only if everything succeeds)")
	calibData := fs.String("calib-data", projectPath(defaultData), "calibration data: "+dataHelp)
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	split := fs.String("calib-split", "train", "IDX split (file prefix) of the calibration data")
	calibN := fs.Int("calib-n", 1000, "number of calibration images")
	batch := fs.Int("batch", 100, "calibration batch size (a model with a static batch uses its own)")
	methodName := fs.String("method", defaultMethod, "calibration method: "+strings.Join(quantizer.MethodNames(), ", ")+
		", or auto (each scored on validation data, the best kept)")
	af := autoFlags{budget: math.NaN()}
	fs.StringVar(&af.valData, "val-data", "", "validation data for --method auto and --accuracy-budget (default: the --calib-n samples after the calibration samples)")
	fs.StringVar(&af.valSplit, "val-split", "t10k", "IDX split of --val-data")
	fs.IntVar(&af.valN, "val-n", 1000, "validation samples")
	fs.Func("accuracy-budget", "keep layers in float32, worst first, until top-1 accuracy is at most X points below float "+
		"(labelled validation data) or the output SQNR is at least X dB (unlabelled)", func(v string) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return fmt.Errorf("want a number >= 0, got %q", v)
		}
		af.budget = x
		return nil
	})
	percentile := fs.Float64("percentile", quantizer.DefaultPercentile, "percentage of values kept by the PERCENTILE methods")
	rangesOut := fs.String("ranges-out", "", "also write the calibrated ranges (JSON: {\"tensor\": [min, max]})")
	rangesIn := fs.String("ranges-in", "", "quantize with these ranges instead of calibrating")
	formatName := fs.String("format", "qdq", "output form: qdq (QuantizeLinear/DequantizeLinear) or qoperator (QLinearConv, QLinearMatMul)")
	dynamic := fs.Bool("dynamic", false, "weight-only int8 with activations quantized at run time (MatMul/Gemm, and LSTM as DynamicQuantizeLSTM; no calibration)")
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
	auto := strings.EqualFold(strings.TrimSpace(*methodName), "auto")
	method := quantizer.DefaultMethod
	if !auto {
		if method, err = quantizer.ParseMethod(*methodName); err != nil {
			return usageErr("%v", err)
		}
	}
	if af.valN <= 0 {
		return usageErr("--val-n must be > 0")
	}
	if auto && *rangesIn != "" {
		return usageErr("--method auto calibrates: it does not apply to --ranges-in")
	}
	if !auto && !budgetSet(af.budget) && (set["val-data"] || set["val-n"] || set["val-split"]) {
		return usageErr("--val-data/--val-n/--val-split are for --method auto and --accuracy-budget")
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
		for _, f := range []string{"ranges-in", "ranges-out", "method", "calib-n", "calib-data", "percentile", "format", "preprocess", "accuracy-budget", "val-data", "val-n"} {
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
	if err := checkOutput(*out, pos[0]); err != nil {
		return err
	}
	if *rangesOut != "" {
		if err := atomicfile.CheckWritable(*rangesOut); err != nil {
			return err
		}
	}
	start := time.Now()
	m, err := loadModel(pos[0], stderr)
	if err != nil {
		return err
	}
	if err := shapes.share(m.Graph); err != nil {
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
		var ev *quantizer.Evaluator
		var evDesc string
		qopts := quantizer.QuantOptions{Format: format, Exclude: excluded, Notes: note, Warn: warn}
		src := calibSource{*calibData, *split, *preprocess, shapes}
		calibKind := ""
		if *rangesIn != "" {
			if ranges, err = quantizer.LoadRanges(*rangesIn); err != nil {
				return err
			}
			rep.RangesIn = *rangesIn
			rep.Method = "ranges from " + filepath.Base(*rangesIn)
			qopts.CalibMethod = rep.Method
			if len(excluded) > 0 || budgetSet(af.budget) {
				if err := fillMissingRanges(m, ranges, *rangesIn, src, *calibN, *batch, *percentile, *threads, stderr, warn); err != nil {
					return err
				}
			}
		} else {
			var cal *quantizer.Calibrator
			cal, calibKind, err = calibratorFromDir(m, method, src, *calibN, *batch, *percentile, *threads, excluded, stderr, warn)
			if err != nil {
				return err
			}
			// The rows of the layer normalizations' inputs (a rule of the plan,
			// docs/quantizer.md "(twenty-second session)").
			qopts.RowSpread = cal.RowSpread()
			if auto || budgetSet(af.budget) {
				if ev, evDesc, err = validation(m, af, src, cal.Samples(), *threads, warn); err != nil {
					return err
				}
			}
			var crep *quantizer.CalibReport
			if auto {
				bar := progress.New(stderr, "method auto", len(quantizer.Methods()))
				res, err := quantizer.AutoMethod(m, cal, ev, qopts, bar.Callback())
				bar.Done()
				if err != nil {
					return err
				}
				method, ranges, crep = res.Best, res.Ranges, res.Report
				rep.Auto = &autoReport{Validation: evDesc, Samples: ev.Samples(), Float: res.Float, Chosen: res.Best.String(), Methods: res.Scores}
			} else if ranges, crep, err = cal.ComputeRangesFor(method); err != nil {
				return err
			}
			rep.Method = method.String()
			rep.CalibData = *calibData
			if calibKind == "idx" {
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
		if budgetSet(af.budget) {
			if ev == nil { // --ranges-in
				if ev, evDesc, err = validation(m, af, src, *calibN, *threads, warn); err != nil {
					return err
				}
			}
			if rep.Fallback, err = runFallback(m, ranges, qopts, ev, af.budget, evDesc, shapes, stderr); err != nil {
				return err
			}
			qopts.Exclude = rep.Fallback.Exclude
		}
		if len(shapes) > 0 {
			// The written model takes exactly the --input-shape shapes: shape
			// subgraphs (Shape -> Gather -> Concat) fold to constants.
			if err = m.BindInputShapes(shapes); err != nil {
				return err
			}
			rep.InputShapes = shapes
		}
		q, err = quantizer.Quantize(m, ranges, qopts)
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
	for _, n := range q.Graph.Nodes {
		if n.OpType == graph.DynamicLSTMOp {
			rep.lstms++
		}
	}
	rep.TotalSec = time.Since(start).Seconds()
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	if rep.Auto != nil {
		printAuto(stdout, rep.Auto)
	}
	if rep.Fallback != nil {
		printFallback(stdout, rep.Fallback)
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
		case graph.DynamicLSTMOp:
			// W and R are int8; the input and the hidden state are quantized at run time.
			for _, i := range []int{1, 2} {
				if t := g.Initializers[n.Input(i)]; t != nil && t.DType == graph.Int8 {
					weights++
				}
			}
			acts += 2
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
		if rep.lstms > 0 {
			fmt.Fprintf(w, "             %d LSTM int8 (DynamicQuantizeLSTM: input and hidden state quantized at every time step)\n", rep.lstms)
		}
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
