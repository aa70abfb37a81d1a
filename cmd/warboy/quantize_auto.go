package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/progress"
	"github.com/warboy-sim/warboy/npu"
	"github.com/warboy-sim/warboy/quantizer"
)

// `warboy quantize --method auto` and `--accuracy-budget`: the method chosen on
// validation data, and layers kept in float32 until a budget holds, each float island
// priced in Warboy latency (the simulator lives above the quantizer, so the pricing is
// done here).

// autoFlags are the flags of the automatic choices.
type autoFlags struct {
	valData, valSplit string
	valN              int
	budget            float64 // NaN: no budget
}

// autoReport is the --json form of the automatic choices.
type autoReport struct {
	Validation string                  `json:"validation"`
	Samples    int                     `json:"samples"`
	Float      quantizer.Score         `json:"float"`
	Chosen     string                  `json:"chosen"`
	Methods    []quantizer.MethodScore `json:"methods"`
}

type fallbackReport struct {
	*quantizer.FallbackResult
	Validation string `json:"validation"`
	// BaselineLatencyUS is the Warboy latency (batch 1, fused) of the model with no
	// float island, FinalLatencyUS with all of them; Prices gives what each island
	// alone adds, in the order kept.
	BaselineLatencyUS float64      `json:"baseline_latency_us"`
	FinalLatencyUS    float64      `json:"final_latency_us"`
	Prices            []islandCost `json:"island_costs"`
}

// islandCost is what one float island adds to the Warboy latency of the model.
type islandCost struct {
	Nodes []string `json:"nodes"`
	// TakesFloat are the consumers that run in float32 with it (they read its float
	// output).
	TakesFloat []string `json:"takes_float"`
	LatencyUS  float64  `json:"latency_us"`
	HostUS     float64  `json:"host_us"`
	PCIeUS     float64  `json:"pcie_us"`
}

// validationSet returns the data the automatic choices are scored on: --val-data, or
// the samples of the calibration set after the first calibN (held back from
// calibration).
func validationSet(m *graph.Model, af autoFlags, src calibSource, calibN int, warn func(string)) (*dataset.Set, string, error) {
	var set *dataset.Set
	var desc string
	if af.valData != "" {
		s, err := openData(af.valData, af.valSplit, src.preprocess, m, src.shapes, af.valN)
		if err != nil {
			return nil, "", fmt.Errorf("validation data: %w", err)
		}
		set = s
		desc = fmt.Sprintf("%d samples of %s", set.Len(), af.valData)
	} else {
		s, err := openData(src.path, src.split, src.preprocess, m, src.shapes, calibN+af.valN)
		if err != nil {
			return nil, "", fmt.Errorf("calibration data: %w", err)
		}
		if s.Len() <= calibN {
			return nil, "", fmt.Errorf("calibration data %s has %d samples, all used for calibration (--calib-n %d): "+
				"nothing is left to validate on; lower --calib-n or give --val-data DIR", s.Name, s.Len(), calibN)
		}
		n := min(af.valN, s.Len()-calibN)
		if n < af.valN {
			warn(fmt.Sprintf("only %d samples of %s are left after calibration: validating on %d", s.Len()-calibN, s.Name, n))
		}
		set = s.Slice(calibN, n)
		desc = fmt.Sprintf("samples %d-%d of %s (held back from calibration)", calibN, calibN+n-1, src.path)
	}
	if set.Len() == 0 {
		return nil, "", fmt.Errorf("the validation set is empty")
	}
	return set, desc, nil
}

// calibratorFromDir collects statistics over the first n samples of a data set; it
// also returns the set's kind ("idx", "images" or "tensors").
func calibratorFromDir(m *graph.Model, method quantizer.Method, src calibSource, n, batch int, percentile float64, threads int,
	exclude []string, stderr io.Writer, warn func(string)) (*quantizer.Calibrator, string, error) {
	set, err := openData(src.path, src.split, src.preprocess, m, src.shapes, n)
	if err != nil {
		return nil, "", fmt.Errorf("calibration data: %w", err)
	}
	if set.Len() == 0 {
		return nil, "", fmt.Errorf("calibration data %s is empty", set.Name)
	}
	if set.Len() < n {
		warn(fmt.Sprintf("--calib-n %d but %s has %d samples: calibrating on %d", n, set.Name, set.Len(), set.Len()))
		n = set.Len()
	}
	bar := progress.New(stderr, "calibrate", n)
	cal, err := quantizer.Calibrate(m, method, set, quantizer.CalibOptions{Percentile: percentile, Warn: warn, Threads: threads,
		BatchSize: batch, Exclude: exclude, Progress: bar.Callback()})
	bar.Done()
	return cal, set.Kind, err
}

// runFallback keeps layers in float32 until the budget holds and prices the islands.
func runFallback(m *graph.Model, ranges quantizer.Ranges, qopts quantizer.QuantOptions, ev *quantizer.Evaluator, budget float64,
	valDesc string, shapes map[string][]int, stderr io.Writer) (*fallbackReport, error) {
	b := quantizer.Budget{MinSQNR: budget}
	if ev.Float().Labelled {
		b = quantizer.Budget{UseAccuracy: true, MaxDrop: budget}
	}
	fmt.Fprintf(stderr, "fallback: %s on %s\n", b, valDesc)
	res, err := quantizer.Fallback(m, ranges, qopts, ev, b, quantizer.FallbackOptions{
		Progress: func(s string) { fmt.Fprintln(stderr, "fallback:", s) }})
	if err != nil {
		return nil, err
	}
	rep := &fallbackReport{FallbackResult: res, Validation: valDesc}
	if err := priceIslands(m, ranges, qopts, shapes, rep); err != nil {
		return nil, fmt.Errorf("pricing the float islands: %w", err)
	}
	return rep, nil
}

// priceIslands prices each float island in Warboy latency: the model with that
// island alone in float32 against the model with none (host CPU time for its
// operators, PCIe for the tensors that cross to and from the host, and NPU work that
// no longer overlaps), and all islands together (adjacent islands share crossings, so
// the total is not the sum). shapes (--input-shape) bind the symbolic dimensions
// other than the batch for the simulator, which never guesses one.
func priceIslands(m *graph.Model, ranges quantizer.Ranges, qopts quantizer.QuantOptions, shapes map[string][]int, rep *fallbackReport) error {
	base := append([]string(nil), qopts.Exclude...)
	// Priced at batch 1 (the report says so): a symbolic leading dimension that
	// --input-shape gives is the batch and becomes 1; the other sizes are used as
	// given.
	one := map[string][]int{}
	for _, in := range m.Graph.Inputs {
		s, ok := shapes[in.Name]
		if !ok {
			continue
		}
		s = append([]int(nil), s...)
		if len(s) > 0 && in.HasShape && len(in.Shape) > 0 && !in.Shape[0].Known() {
			s[0] = 1
		}
		one[in.Name] = s
	}
	sim := func(extra []string) (*npu.Report, error) {
		o := qopts
		o.Exclude, o.Notes = append(append([]string(nil), base...), extra...), nil
		q, err := quantizer.Quantize(m, ranges, o)
		if err != nil {
			return nil, err
		}
		return npu.Simulate(q, npu.Config{Mode: npu.ModeFused, Batch: 1, InputShapes: one})
	}
	none, err := sim(nil)
	if err != nil {
		return err
	}
	rep.BaselineLatencyUS, rep.FinalLatencyUS = none.LatencyUS, none.LatencyUS
	var all []string
	for _, is := range rep.Islands {
		all = append(all, is.Nodes...)
		r, err := sim(is.Nodes)
		if err != nil {
			return err
		}
		tf, err := quantizer.TakesFloat(m, append(append([]string(nil), base...), is.Nodes...))
		if err != nil {
			return err
		}
		rep.Prices = append(rep.Prices, islandCost{Nodes: is.Nodes, TakesFloat: tf, LatencyUS: r.LatencyUS - none.LatencyUS,
			HostUS: r.Split.HostUS - none.Split.HostUS, PCIeUS: r.Split.PCIeUS - none.Split.PCIeUS})
	}
	if len(all) > 0 {
		r, err := sim(all)
		if err != nil {
			return err
		}
		rep.FinalLatencyUS = r.LatencyUS
	}
	return nil
}

func printAuto(w io.Writer, a *autoReport) {
	fmt.Fprintf(w, "method auto: %d methods scored on %s\n", len(a.Methods), a.Validation)
	rows := [][]string{}
	for _, ms := range a.Methods {
		row := []string{ms.Method.String(), "", "", ""}
		if ms.Error != "" {
			row[1] = "error: " + ms.Error
		} else {
			row[1] = fmt.Sprintf("%.2f", float64(ms.Score.SQNR))
			if ms.Score.Classes {
				row[2] = fmt.Sprintf("%.2f", 100*ms.Score.Agreement)
			}
			if ms.Score.Labelled {
				row[3] = fmt.Sprintf("%.2f", 100*ms.Score.Accuracy)
			}
		}
		if ms.Method.String() == a.Chosen {
			row[0] += " (chosen)"
		}
		rows = append(rows, row)
	}
	acc := "accuracy %"
	if a.Float.Labelled {
		acc = fmt.Sprintf("accuracy %% (float %.2f)", 100*a.Float.Accuracy)
	}
	table(w, []string{"method", "output SQNR dB", "top-1 agreement %", acc}, rows)
	fmt.Fprintln(w)
}

func printFallback(w io.Writer, f *fallbackReport) {
	status := "met"
	if !f.Met {
		status = "NOT met (no more layers to keep in float32)"
	}
	fmt.Fprintf(w, "budget:      %s on %s: %s\n", f.Budget, f.Validation, status)
	fmt.Fprintf(w, "             start %s; final %s\n", f.Start, f.Final)
	if f.Budget.UseAccuracy {
		fmt.Fprintf(w, "             float accuracy %.2f %%\n", 100*f.Float.Accuracy)
	}
	if len(f.Islands) == 0 {
		fmt.Fprintf(w, "             no float island needed (Warboy latency %.1f us)\n", f.BaselineLatencyUS)
		return
	}
	rows := [][]string{}
	for i, is := range f.Islands {
		p := f.Prices[i]
		after := fmt.Sprintf("%.2f dB", float64(is.After.SQNR))
		if is.After.Labelled {
			after = fmt.Sprintf("%.2f %%", 100*is.After.Accuracy)
		}
		name := strings.Join(is.Nodes, ", ")
		if len(p.TakesFloat) > 0 {
			name += " (+ " + strings.Join(p.TakesFloat, ", ") + " read it in float32)"
		}
		rows = append(rows, []string{name, fmt.Sprintf("%.1f", is.LossDB), after,
			fmt.Sprintf("%+.1f", p.LatencyUS), fmt.Sprintf("%+.1f", p.HostUS), fmt.Sprintf("%+.1f", p.PCIeUS)})
	}
	table(w, []string{"float32 island", "SQNR lost dB", "after", "Warboy latency us (island alone)", "host us", "PCIe us"}, rows)
	fmt.Fprintf(w, "             %d island(s) in float32 (%d tried); Warboy latency %.1f -> %.1f us (batch 1, fused)\n\n",
		len(f.Islands), f.Tried, f.BaselineLatencyUS, f.FinalLatencyUS)
}

// budgetSet reports whether --accuracy-budget was given.
func budgetSet(b float64) bool { return !math.IsNaN(b) }

// validation loads the validation set and runs the float model on it.
func validation(m *graph.Model, af autoFlags, src calibSource, calibN, threads int, warn func(string)) (*quantizer.Evaluator, string, error) {
	set, desc, err := validationSet(m, af, src, calibN, warn)
	if err != nil {
		return nil, "", err
	}
	labels, err := scoredLabels(set, m)
	if err != nil {
		return nil, "", fmt.Errorf("validation data: %w", err)
	}
	ev, err := quantizer.NewEvaluator(m, set, quantizer.EvalOptions{Threads: threads, Labels: labels})
	return ev, desc, err
}

// fillMissingRanges completes ranges read from a file that lacks tensors an exclusion
// or a fallback may quantize (a file written by an older version or another tool
// records only one plan's tensors): those are calibrated with the default method on
// the calibration data; the file's ranges are kept as they are.
func fillMissingRanges(m *graph.Model, ranges quantizer.Ranges, file string, src calibSource, calibN, batch int, percentile float64,
	threads int, stderr io.Writer, warn func(string)) error {
	if !rangesOfModel(m, ranges) {
		// Ranges of another model: calibrating everything would hide the mistake;
		// quantize reports it (partialRanges).
		return nil
	}
	missing, err := quantizer.MissingRanges(m, ranges)
	if err != nil || len(missing) == 0 {
		return err
	}
	cal, _, err := calibratorFromDir(m, quantizer.DefaultMethod, src, calibN, batch, percentile, threads, nil, stderr, func(string) {})
	if err != nil {
		return fmt.Errorf("%s has no range for %d tensor(s) an exclusion may quantize (e.g. %s), and calibrating them failed: %w",
			file, len(missing), missing[0], err)
	}
	r, _, err := cal.ComputeRangesFor(quantizer.DefaultMethod)
	if err != nil {
		return err
	}
	for _, name := range missing {
		if v, ok := r[name]; ok {
			ranges[name] = v
		}
	}
	warn(fmt.Sprintf("%s has no range for %d tensor(s) an exclusion may quantize: calibrated them with %s on %d images of %s",
		file, len(missing), quantizer.DefaultMethod, cal.Samples(), src.path))
	return nil
}

// rangesOfModel reports whether any tensor named in ranges is a value of m (a graph
// input or a node output).
func rangesOfModel(m *graph.Model, ranges quantizer.Ranges) bool {
	for _, in := range m.Graph.Inputs {
		if _, ok := ranges[in.Name]; ok {
			return true
		}
	}
	for _, n := range m.Graph.Nodes {
		for _, o := range n.Outputs {
			if _, ok := ranges[o]; ok {
				return true
			}
		}
	}
	return false
}
