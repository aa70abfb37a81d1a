// Package ortoracle runs ONNX Runtime (through onnxruntime-node, installed by
// `make ort` under tools/ort) as an external oracle: interop tests check that the
// models we write load there and give the same answers, and benchmarks time the same
// model side by side. It is a test and benchmark dependency only; nothing in the
// toolchain's own pipeline needs it.
package ortoracle

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/warboy-sim/warboy/graph"
)

// Dir returns the tools/ort directory of the project: $WARBOY_ORT_DIR, or found by
// walking up from the working directory to go.mod.
func Dir() (string, error) {
	if d := os.Getenv("WARBOY_ORT_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "tools", "ort"), nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("ortoracle: project root (go.mod) not found")
		}
	}
}

// Available returns nil when node and onnxruntime-node are installed.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("ortoracle: node is not installed")
	}
	d, err := Dir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(d, "node_modules", "onnxruntime-node", "package.json")); err != nil {
		return fmt.Errorf("ortoracle: onnxruntime-node is not installed in %s (run `make ort`)", d)
	}
	return nil
}

type reqInput struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	File  string `json:"file"`
}

type request struct {
	Model   string `json:"model"`
	Threads int    `json:"threads"`
	Mode    string `json:"mode"`
	// Optimization is ONNX Runtime's graph optimization level ("disabled", "basic",
	// "extended", "all"); empty means "all".
	Optimization string     `json:"optimization,omitempty"`
	Warmup       int        `json:"warmup,omitempty"`
	Iterations   int        `json:"iterations,omitempty"`
	Inputs       []reqInput `json:"inputs"`
	OutDir       string     `json:"outdir"`
}

type response struct {
	Outputs []reqInput `json:"outputs"`
	Latency []float64  `json:"latencies_ms"`
	CPU     []float64  `json:"cpu_ms"`
}

func ortDType(dt graph.DType) (string, error) {
	switch dt {
	case graph.Float32, graph.Int8, graph.Uint8, graph.Int32, graph.Int64, graph.Float64, graph.Bool, graph.Int16, graph.Uint16,
		graph.Float16:
		return dt.String(), nil
	}
	return "", fmt.Errorf("ortoracle: unsupported input dtype %s", dt)
}

func call(req *request, inputs map[string]*graph.Tensor) (*response, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "ortoracle")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	req.OutDir = tmp
	if abs, err := filepath.Abs(req.Model); err == nil {
		req.Model = abs
	}
	i := 0
	for name, t := range inputs {
		if t.IsSeq() {
			return nil, fmt.Errorf("input %q is a sequence: onnxruntime-node feeds and returns tensors only (its JavaScript API has no sequence values), so ONNX Runtime cannot run this model here", name)
		}
		dt, err := ortDType(t.DType)
		if err != nil {
			return nil, err
		}
		tp, err := t.ToProto(name)
		if err != nil {
			return nil, err
		}
		f := filepath.Join(tmp, fmt.Sprintf("in_%d.bin", i))
		i++
		if err := os.WriteFile(f, tp.GetRawData(), 0o600); err != nil {
			return nil, err
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		req.Inputs = append(req.Inputs, reqInput{Name: name, DType: dt, Shape: shape, File: f})
	}
	rf := filepath.Join(tmp, "request.json")
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(rf, b, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("node", filepath.Join(dir, "run.js"), rf)
	cmd.Dir = dir
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("onnxruntime: %v: %s", err, stderr.String())
	}
	var resp response
	if err := json.Unmarshal(out, &resp); err != nil {
		return nil, fmt.Errorf("onnxruntime: bad response %q: %v", out, err)
	}
	if req.Mode == "run" {
		for k := range resp.Outputs {
			o := &resp.Outputs[k]
			raw, err := os.ReadFile(o.File)
			if err != nil {
				return nil, err
			}
			o.File = string(raw) // carry the bytes back to the caller
		}
	}
	return &resp, nil
}

// Run executes the model in ONNX Runtime (all graph optimizations on) and returns its
// outputs by name.
func Run(model string, inputs map[string]*graph.Tensor, threads int) (map[string]*graph.Tensor, error) {
	return RunAtLevel(model, inputs, threads, "all")
}

// RunAtLevel is Run with ONNX Runtime's graph optimizations at level ("disabled",
// "basic", "extended" or "all"). With "disabled" a QDQ model runs as written:
// DequantizeLinear, the float operator, QuantizeLinear; with "all" ORT fuses some of
// those groups into integer kernels (QLinearConv, QGemm, ...) and leaves others in
// float, so the two levels can round a value on a tie differently.
func RunAtLevel(model string, inputs map[string]*graph.Tensor, threads int, level string) (map[string]*graph.Tensor, error) {
	switch level {
	case "disabled", "basic", "extended", "all":
	default:
		return nil, fmt.Errorf("ortoracle: unknown optimization level %q", level)
	}
	resp, err := call(&request{Model: model, Threads: threads, Mode: "run", Optimization: level}, inputs)
	if err != nil {
		return nil, err
	}
	res := map[string]*graph.Tensor{}
	for _, o := range resp.Outputs {
		t, err := decode(o.DType, o.Shape, []byte(o.File))
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", o.Name, err)
		}
		res[o.Name] = t
	}
	return res, nil
}

// Bench times repeated runs of the model on the same inputs and returns the latency
// of each run in milliseconds.
func Bench(model string, inputs map[string]*graph.Tensor, threads, warmup, iterations int) ([]float64, error) {
	lat, _, err := BenchCPU(model, inputs, threads, warmup, iterations)
	return lat, err
}

// BenchCPU is Bench that also returns each run's process CPU time in
// milliseconds (user + system over all of ONNX Runtime's threads, node's
// process.cpuUsage), which a loaded machine disturbs far less than the
// latency. The CPU times are nil when the ORT script does not report them.
func BenchCPU(model string, inputs map[string]*graph.Tensor, threads, warmup, iterations int) (lat, cpu []float64, err error) {
	resp, err := call(&request{Model: model, Threads: threads, Mode: "bench", Warmup: warmup, Iterations: iterations}, inputs)
	if err != nil {
		return nil, nil, err
	}
	if len(resp.CPU) != len(resp.Latency) {
		resp.CPU = nil
	}
	return resp.Latency, resp.CPU, nil
}

func decode(dtype string, shape []int, raw []byte) (*graph.Tensor, error) {
	n := graph.NumElements(shape)
	le := binary.LittleEndian
	switch dtype {
	case "float32":
		if len(raw) != 4*n {
			return nil, fmt.Errorf("%d bytes for %d float32", len(raw), n)
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return graph.FromFloat32(shape, d), nil
	case "int8":
		d := make([]int8, n)
		for i := range d {
			d[i] = int8(raw[i])
		}
		return graph.FromInt8(shape, d), nil
	case "uint8":
		return graph.FromUint8(shape, append([]uint8(nil), raw[:n]...)), nil
	case "int32":
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(le.Uint32(raw[4*i:]))
		}
		return graph.FromInt32(shape, d), nil
	case "int64":
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(le.Uint64(raw[8*i:]))
		}
		return graph.FromInt64(shape, d), nil
	case "float64", "bool", "float16", "int16", "uint16":
		// Comparison masks, float16 and float64 models: the raw little-endian
		// bytes as the .npy reader takes them.
		dt := map[string]graph.DType{"float64": graph.Float64, "bool": graph.Bool, "float16": graph.Float16,
			"int16": graph.Int16, "uint16": graph.Uint16}[dtype]
		if len(raw) != n*dt.Size() {
			return nil, fmt.Errorf("%d bytes for %d %s", len(raw), n, dtype)
		}
		t := graph.NewTensor(dt, shape)
		switch d := t.Data.(type) {
		case []float64:
			for i := range d {
				d[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
			}
		case []bool:
			for i := range d {
				d[i] = raw[i] != 0
			}
		case []uint16: // float16 bits too
			for i := range d {
				d[i] = le.Uint16(raw[2*i:])
			}
		case []int16:
			for i := range d {
				d[i] = int16(le.Uint16(raw[2*i:]))
			}
		}
		return t, nil
	}
	return nil, fmt.Errorf("unsupported output dtype %s", dtype)
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 8192 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
