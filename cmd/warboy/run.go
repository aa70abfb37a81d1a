package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/warboy-sim/warboy/bench/dataset"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/internal/atomicfile"
	"github.com/warboy-sim/warboy/runtime"
)

func init() {
	register(&command{name: "run", summary: "run a model on one input (a data-set image, a .npy or a raw file)", run: runCmd})
}

type runOutput struct {
	Name  string    `json:"name"`
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
	Top1  []int     `json:"top1"`
}

type runReport struct {
	Model   string      `json:"model"`
	Mode    string      `json:"mode"`
	Input   string      `json:"input"`
	Label   *int        `json:"label"`
	Outputs []runOutput `json:"outputs"`
	// OutputFile is the --output file the values were written to (their data is then
	// left out of the report).
	OutputFile string `json:"output_file"`
}

func parseMode(s string) (runtime.Mode, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return runtime.ModeAuto, nil
	case "float", "float32", "fp32":
		return runtime.ModeFloat, nil
	case "int8":
		return runtime.ModeInt8, nil
	}
	return 0, usageErr("unknown --mode %q (auto, float32, int8)", s)
}

func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "MODEL [--index I --data DIR [--preprocess SPEC] | --input FILE.npy|FILE.npz | --input FILE.raw --shape 1,1,28,28] [--input-shape NAME=d0,d1,...] [--pool-qparams file|input] [--output OUT.npy|OUT.npz] [--json]", stderr)
	data := fs.String("data", projectPath(defaultData), "data for --index: "+dataHelp)
	preprocess := addPreprocessFlag(fs)
	shapes := addInputShapeFlag(fs)
	poolQ := addPoolQParamsFlag(fs)
	split := fs.String("split", "t10k", "IDX split (file prefix) for --index")
	index := fs.Int("index", -1, "run on this image of the data set (default 0 when no --input)")
	input := fs.String("input", "", "input file: .npy (one input; every row of a batch), .npz (one array per input name), or raw little-endian data with --shape and --dtype")
	shapeStr := fs.String("shape", "", "shape of a raw --input, e.g. 1,1,28,28")
	dtypeStr := fs.String("dtype", "float32", "element type of a raw --input")
	modeStr := fs.String("mode", "auto", "execution: auto (int8 for quantized models), float32, int8")
	threads := fs.Int("threads", 0, "threads (0 = all cores)")
	outFile := fs.String("output", "", "write the outputs to OUT.npy (one-output models) or OUT.npz (one array per output, named as the output) instead of printing their values")
	aliasFlag(fs, "o", "output")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run takes one MODEL")
	}
	npz := strings.HasSuffix(strings.ToLower(*outFile), ".npz")
	if *outFile != "" {
		if !npz && !strings.HasSuffix(strings.ToLower(*outFile), ".npy") {
			return usageErr("--output %s: the file must end in .npy (one output) or .npz (any number of outputs)", *outFile)
		}
		if err := atomicfile.CheckWritable(*outFile); err != nil {
			return err
		}
	}
	mode, err := parseMode(*modeStr)
	if err != nil {
		return err
	}
	m, err := loadModel(pos[0], stderr)
	if err != nil {
		return err
	}
	if err := shapes.share(m.Graph); err != nil {
		return err
	}
	m = poolQ.apply(m, stderr)
	sessOpts := []runtime.Option{runtime.WithMode(mode), runtime.WithThreads(*threads),
		runtime.WithWarnings(func(s string) { fmt.Fprintln(stderr, "warning:", s) })}
	sess, err := runtime.NewSession(m, sessOpts...)
	if err != nil {
		return err
	}
	if outs := sess.Outputs(); *outFile != "" && !npz && len(outs) != 1 {
		names := make([]string, len(outs))
		for i, o := range outs {
			names[i] = o.Name
		}
		return usageErr("--output %s: the model has %d outputs (%s) and a .npy file holds one array; write a .npz (one array per output)",
			*outFile, len(outs), strings.Join(names, ", "))
	}
	rep := &runReport{Model: pos[0], Mode: sess.Mode().String()}
	var feeds map[string]*graph.Tensor
	switch {
	case *input != "" && *index >= 0:
		return usageErr("give --input or --index, not both")
	case *input != "" && !strings.HasSuffix(*input, ".npy") && !strings.HasSuffix(*input, ".npz"):
		if len(sess.Inputs()) != 1 {
			return fmt.Errorf("model has %d inputs; a raw --input feeds one (use an .npz file, one array per input)", len(sess.Inputs()))
		}
		x, err := readInputFile(*input, *shapeStr, *dtypeStr)
		if err != nil {
			return err
		}
		in := sess.Inputs()[0]
		if err := graph.CheckInputShape(in, x.Shape); err != nil {
			return fmt.Errorf("%s: %w", *input, err)
		}
		if x, err = dataset.ConvertTo(x, in.DType); err != nil {
			return fmt.Errorf("%s: %w", *input, err)
		}
		feeds = map[string]*graph.Tensor{in.Name: x}
		rep.Input = *input
	case *input != "":
		warnInitializerArrays(*input, m, stderr)
		set, err := openData(*input, "", "", m, shapes, 0)
		if err != nil {
			return err
		}
		if feeds, err = set.Batch(0, set.GroupEnd(0)); err != nil {
			return err
		}
		rep.Input = *input
	default:
		if *index < 0 {
			*index = 0
		}
		set, err := openData(*data, *split, *preprocess, m, shapes, *index+1)
		if err != nil {
			return err
		}
		if *index >= set.Len() {
			what := "samples"
			if set.Kind != "tensors" {
				what = "images"
			}
			return usageErr("--index %d: the data set has %d %s", *index, set.Len(), what)
		}
		if feeds, err = set.Batch(*index, 1); err != nil {
			return err
		}
		rep.Input = fmt.Sprintf("%s sample %d", set.Name, *index)
		if set.Kind == "idx" {
			rep.Input = fmt.Sprintf("%s image %d", set.Name, *index)
		}
		if set.Labels != nil {
			l := set.Labels[*index]
			rep.Label = &l
		}
	}
	if runtime.HasSymbolicInputs(m) {
		// Planned for the shapes fed, as a static export would be: the shape
		// subgraphs fold and the static-shape rewrites apply.
		if sess, err = runtime.NewReplanner(m, sessOpts...).Session(feeds); err != nil {
			return err
		}
	}
	out, err := sess.RunTensors(feeds)
	if err != nil {
		return err
	}
	var arrays []dataset.NamedTensor
	for _, o := range sess.Outputs() {
		t := out[o.Name]
		ro := runOutput{Name: o.Name, DType: t.DType.String(), Shape: t.Shape}
		if *outFile != "" {
			arrays = append(arrays, dataset.NamedTensor{Name: o.Name, Tensor: t})
		} else if ro.Data, err = t.AsFloat64(); err != nil {
			return fmt.Errorf("output %q: %w", o.Name, err)
		}
		if len(t.Shape) == 2 {
			ro.Top1, _ = dataset.Top1(t)
		}
		rep.Outputs = append(rep.Outputs, ro)
	}
	if *outFile != "" {
		if err := writeArrays(*outFile, npz, arrays); err != nil {
			return err
		}
		rep.OutputFile = *outFile
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "model: %s (%s)\ninput: %s", rep.Model, rep.Mode, rep.Input)
	if rep.Label != nil {
		fmt.Fprintf(stdout, " (label %d)", *rep.Label)
	}
	fmt.Fprintln(stdout)
	if rep.OutputFile != "" {
		for _, o := range rep.Outputs {
			fmt.Fprintf(stdout, "%s %s%s\n", o.Name, o.DType, graph.FormatDims(o.Shape))
			if o.Top1 != nil {
				fmt.Fprintf(stdout, "  top-1: %v\n", o.Top1)
			}
		}
		fmt.Fprintf(stdout, "wrote: %s (%d array(s))\n", rep.OutputFile, len(rep.Outputs))
		return nil
	}
	for _, o := range rep.Outputs {
		fmt.Fprintf(stdout, "%s %s%s:\n", o.Name, o.DType, graph.FormatDims(o.Shape))
		const maxShow = 64
		parts := make([]string, 0, maxShow)
		for i, v := range o.Data {
			if i == maxShow {
				parts = append(parts, fmt.Sprintf("... (%d values)", len(o.Data)))
				break
			}
			parts = append(parts, strconv.FormatFloat(v, 'g', 6, 64))
		}
		fmt.Fprintf(stdout, "  [%s]\n", strings.Join(parts, " "))
		if o.Top1 != nil {
			fmt.Fprintf(stdout, "  top-1: %v\n", o.Top1)
		}
	}
	return nil
}

// writeArrays writes the outputs to one .npy (a single output) or an .npz file,
// atomically: a failure leaves no partial file.
func writeArrays(path string, npz bool, arrays []dataset.NamedTensor) error {
	var b bytes.Buffer
	var err error
	if npz {
		err = dataset.WriteNPZ(&b, arrays)
	} else {
		err = dataset.WriteNPY(&b, arrays[0].Tensor)
	}
	if err != nil {
		return fmt.Errorf("--output %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, b.Bytes())
}

func readInputFile(path, shapeStr, dtypeStr string) (*graph.Tensor, error) {
	if strings.HasSuffix(path, ".npy") {
		return dataset.ReadNPY(path)
	}
	if shapeStr == "" {
		return nil, usageErr("raw --input %s needs --shape", path)
	}
	shape, err := parseShapeFlag(shapeStr)
	if err != nil {
		return nil, err
	}
	dt, err := graph.ParseDType(dtypeStr)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := dataset.DecodeRaw(b, dt, shape)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// parseShapeFlag parses run's --shape D0,D1,...: non-negative integers (the element
// count is checked when the raw file is decoded).
func parseShapeFlag(s string) ([]int, error) {
	var shape []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 {
			return nil, usageErr("bad --shape %q", s)
		}
		shape = append(shape, v)
	}
	return shape, nil
}
