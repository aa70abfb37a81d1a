package npu_test

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warboy-sim/warboy/bench/zoo"
	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/npu"
)

// The calibration set: every published Warboy figure of shared/docs/warboy.md
// sections 2, 2.3 and 2.4 the simulator may be fitted to, with the scenario that
// reproduces it (docs/npu.md says why each scenario covers what the figure measures).
// Nothing else is fitted to, and nothing here is model-specific: each scenario is a
// zoo network, a mode, a batch and which host stages are timed.

// calFigure is one published number and how to read it off a report.
type calFigure struct {
	name      string
	published float64
	unit      string
	read      func(*npu.Report) float64
}

// calScenario is one simulation and the figures it yields.
type calScenario struct {
	family  string // resnet50, mobilenet_v1, yolov5: the unit of leave-one-family-out
	model   string // zoo name
	cfg     npu.Config
	figures []calFigure
	command string // the warboy command that reproduces it
}

func latencyUS(r *npu.Report) float64     { return r.LatencyUS }
func throughputIPS(r *npu.Report) float64 { return r.ThroughputIPS }
func npuRunUS(r *npu.Report) float64      { return r.NPULatencyUS }

func kindMeanNS(kind string) func(*npu.Report) float64 {
	return func(r *npu.Report) float64 {
		for _, a := range r.KindAverages() {
			if a.Kind == kind {
				return a.MeanNS
			}
		}
		return math.NaN()
	}
}

// yoloPublished are the warboy-vision-models figures (warboy.md 2.3), in ms:
// fused, single PE (0 where not published).
var yoloPublished = []struct {
	model         string
	fused, single float64
}{
	{"yolov5n", 1.09, 1.26}, {"yolov5s", 1.93, 2.45}, {"yolov5m", 4.44, 5.88}, {"yolov5l", 7.70, 10.33},
	{"yolov5x", 14.39, 20.49}, {"yolov5n6", 2.64, 0}, {"yolov5s6", 5.43, 0}, {"yolov5m6", 12.73, 0}, {"yolov5l6", 39.17, 0},
}

func calibrationSet() []calScenario {
	set := []calScenario{
		{family: "resnet50", model: "resnet50",
			cfg:     npu.Config{Mode: npu.ModeFused, Batch: 1, PreLowered: true},
			figures: []calFigure{{"ResNet-50 SingleStream p90 (fused, batch 1)", 712.2, "us", latencyUS}},
			command: "warboy sim zoo:resnet50 --timing-only --prelowered"},
		{family: "resnet50", model: "resnet50",
			cfg:     npu.Config{Mode: npu.Mode2PE, Batch: 8, InFlight: 4, PreLowered: true},
			figures: []calFigure{{"ResNet-50 Offline (2 single PEs, batch 8, 4 in flight)", 2758.44, "samples/s", throughputIPS}},
			command: "warboy sim zoo:resnet50 --timing-only --prelowered --mode 2pe --batch 8 --inflight 4"},
		{family: "mobilenet_v1", model: "mobilenet_v1",
			cfg: npu.Config{Mode: npu.ModeFused, Batch: 1},
			figures: []calFigure{
				{"MobileNet v1 NPU Run", mobilenetNPURunUS, "us", npuRunUS},
				{"MobileNet v1 LowLevelConv2d mean", mobilenetConvNS, "ns", kindMeanNS("LowLevelConv2d")},
				{"MobileNet v1 LowLevelDepthwiseConv2d mean", mobilenetDepthwiseNS, "ns", kindMeanNS("LowLevelDepthwiseConv2d")},
				{"MobileNet v1 LowLevelPad mean", mobilenetPadNS, "ns", kindMeanNS("LowLevelPad")},
			},
			command: "warboy sim zoo:mobilenet_v1 --timing-only"},
	}
	for _, y := range yoloPublished {
		modes := []struct {
			mode npu.Mode
			ms   float64
		}{{npu.ModeFused, y.fused}, {npu.ModeSingle, y.single}}
		for _, m := range modes {
			if m.ms == 0 {
				continue
			}
			set = append(set, calScenario{family: "yolov5", model: y.model,
				cfg:     npu.Config{Mode: m.mode, Batch: 1, PreLowered: true},
				figures: []calFigure{{fmt.Sprintf("%s %s", y.model, m.mode), m.ms * 1e3, "us", latencyUS}},
				command: fmt.Sprintf("warboy sim zoo:%s --timing-only --prelowered --mode %s", y.model, m.mode)})
		}
	}
	return set
}

var (
	calModelsMu sync.Mutex
	calModels   = map[string]*graph.Model{}
)

// calModel builds a zoo network once, with shapes only (timing needs no weights).
func calModel(t testing.TB, name string) *graph.Model {
	calModelsMu.Lock()
	defer calModelsMu.Unlock()
	if m := calModels[name]; m != nil {
		return m
	}
	m, err := zoo.Build(name, zoo.Options{ShapeOnly: true})
	require.NoError(t, err)
	calModels[name] = m
	return m
}

// calResult is one figure as simulated.
type calResult struct {
	scenario  *calScenario
	figure    calFigure
	simulated float64
}

func (r calResult) err() float64 { return r.simulated/r.figure.published - 1 }

// runCalibration simulates the scenarios of the given families (all when nil) with
// profile p, in parallel.
func runCalibration(t testing.TB, p *npu.Profile, set []calScenario, families map[string]bool) []calResult {
	var todo []*calScenario
	for i := range set {
		if families == nil || families[set[i].family] {
			todo = append(todo, &set[i])
		}
	}
	for _, sc := range todo {
		calModel(t, sc.model)
	}
	reps := make([]*npu.Report, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, sc := range todo {
		wg.Add(1)
		go func(i int, sc *calScenario) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := sc.cfg
			cfg.Profile, cfg.AssumeInt8 = p, true
			reps[i], errs[i] = npu.Simulate(calModels[sc.model], cfg)
		}(i, sc)
	}
	wg.Wait()
	var out []calResult
	for i, sc := range todo {
		require.NoError(t, errs[i], sc.model)
		for _, f := range sc.figures {
			out = append(out, calResult{scenario: sc, figure: f, simulated: f.read(reps[i])})
		}
	}
	return out
}

func mape(rs []calResult) float64 {
	s := 0.0
	for _, r := range rs {
		s += math.Abs(r.err())
	}
	return s / float64(len(rs))
}

// loss is the mean absolute log error: over- and under-prediction by the same factor
// cost the same, no figure dominates by its magnitude, and one figure the model
// cannot explain does not drag the others (as a squared error would).
func loss(rs []calResult) float64 {
	s := 0.0
	for _, r := range rs {
		e := math.Log(r.simulated / r.figure.published)
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		s += math.Abs(e)
	}
	return s / float64(len(rs))
}

func printCalibration(w *strings.Builder, rs []calResult) {
	fmt.Fprintln(w, "| figure | published | simulated | error | command |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %.4g %s | %.4g %s | %+.1f%% | `%s` |\n", r.figure.name, r.figure.published, r.figure.unit,
			r.simulated, r.figure.unit, 100*r.err(), r.scenario.command)
	}
	fmt.Fprintf(w, "MAPE %.1f%% over %d figures\n", 100*mape(rs), len(rs))
}

// TestCalibration checks the embedded profile against every figure of the
// calibration set: the mean absolute percentage error must stay within 10%.
// `go test ./npu -run TestCalibration -v` prints the table of docs/npu.md.
func TestCalibration(t *testing.T) {
	p := npu.Default()
	if path := os.Getenv("WARBOY_PROFILE"); path != "" {
		// A what-if profile: how the calibration moves when a parameter changes.
		var err error
		p, err = npu.LoadProfile(path)
		require.NoError(t, err)
	}
	rs := runCalibration(t, p, calibrationSet(), nil)
	var b strings.Builder
	printCalibration(&b, rs)
	t.Log("\n" + b.String())
	require.LessOrEqual(t, mape(rs), 0.10, "calibration MAPE")
}

// fitParams are the fitted parameters of the profile, where every fit starts (the
// same neutral point for the full and the leave-one-family-out fits, so that no fit
// starts from values another fit found) and the range it may explore; every other
// profile value is published, derived or guessed. The per-operator overhead is
// derived (model.op_overhead_cycles), not fitted: fitted together with the table
// load, the two are not separately identifiable without MobileNet's per-operator
// profile (both are fixed costs per operator on YOLOv5), and a fit without MobileNet
// put 3.3 us on every MobileNet operator.
var fitParams = []struct {
	name          string
	start, lo, hi float64
}{
	{"model.dram_efficiency", 0.7, 0.3, 1.0},
	{"model.mac_efficiency", 0.7, 0.2, 1.0},
	{"model.table_load_cycles", 1000, 0, 40000},
}

// fit minimises the loss over the families given, by coordinate descent on a
// logarithmic grid that is refined six times (deterministic, no random restarts).
func fit(t testing.TB, set []calScenario, families map[string]bool) (*npu.Profile, []float64, float64) {
	x := make([]float64, len(fitParams))
	for i, fp := range fitParams {
		x[i] = fp.start
	}
	eval := func(x []float64) float64 {
		q := npu.Default()
		for i, fp := range fitParams {
			require.NoError(t, q.SetParam(fp.name, x[i]))
		}
		return loss(runCalibration(t, q, set, families))
	}
	best := eval(x)
	step := 0.5 // log-space step
	for round := 0; round < 6; round++ {
		for improved := true; improved; {
			improved = false
			for i, fp := range fitParams {
				for _, dir := range []float64{1, -1} {
					y := append([]float64(nil), x...)
					y[i] = math.Min(fp.hi, math.Max(fp.lo, x[i]*math.Exp(dir*step)))
					if y[i] == x[i] {
						continue
					}
					if l := eval(y); l < best-1e-12 {
						best, x, improved = l, y, true
					}
				}
			}
		}
		step /= 2
	}
	q := npu.Default()
	for i, fp := range fitParams {
		require.NoError(t, q.SetParam(fp.name, x[i]))
	}
	return q, x, best
}

// TestFitCalibration reruns the fit of the profile's fitted parameters on the whole
// calibration set, then the three leave-one-family-out fits (fit without a family,
// predict it): the honest estimate of the error on networks the fit never saw. It
// runs a few hundred simulations and is skipped unless WARBOY_FIT=1:
//
//	WARBOY_FIT=1 go test ./npu -run TestFitCalibration -v -timeout 30m
func TestFitCalibration(t *testing.T) {
	if os.Getenv("WARBOY_FIT") == "" {
		t.Skip("set WARBOY_FIT=1 to rerun the calibration fit")
	}
	set := calibrationSet()
	var b strings.Builder
	p, x, l := fit(t, set, nil)
	fmt.Fprintf(&b, "full fit (mean absolute log error %.4f):", l)
	for i, fp := range fitParams {
		fmt.Fprintf(&b, " %s=%.4g", fp.name, x[i])
	}
	fmt.Fprintln(&b)
	printCalibration(&b, runCalibration(t, p, set, nil))
	families := []string{"resnet50", "yolov5", "mobilenet_v1"}
	fmt.Fprintln(&b, "\nleave-one-family-out:")
	fmt.Fprintln(&b, "| left out | fitted values | figures | MAPE on the left-out family | worst |")
	fmt.Fprintln(&b, "|---|---|---|---|---|")
	for _, out := range families {
		train := map[string]bool{}
		for _, f := range families {
			train[f] = f != out
		}
		q, xv, _ := fit(t, set, train)
		rs := runCalibration(t, q, set, map[string]bool{out: true})
		var vals []string
		for i, fp := range fitParams {
			vals = append(vals, fmt.Sprintf("%s=%.4g", strings.TrimPrefix(fp.name, "model."), xv[i]))
		}
		worst := rs[0]
		for _, r := range rs {
			if math.Abs(r.err()) > math.Abs(worst.err()) {
				worst = r
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %.1f%% | %s %+.1f%% |\n", out, strings.Join(vals, ", "), len(rs), 100*mape(rs), worst.figure.name, 100*worst.err())
		var detail strings.Builder
		printCalibration(&detail, rs)
		t.Logf("predicted %s:\n%s", out, detail.String())
	}
	t.Log("\n" + b.String())
	_ = sort.Strings
}
