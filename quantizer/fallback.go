package quantizer

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/warboy-sim/warboy/graph"
	"github.com/warboy-sim/warboy/runtime"
)

// Budget is what a float fallback must reach on the evaluator's data: at most
// MaxDrop points (percent) of top-1 accuracy below float when the data is labelled,
// or an output SQNR of at least MinSQNR dB otherwise. Exactly one is used: MaxDrop
// when UseAccuracy is set.
type Budget struct {
	UseAccuracy bool    `json:"use_accuracy"`
	MaxDrop     float64 `json:"max_drop_points"`
	MinSQNR     float64 `json:"min_output_sqnr_db"`
}

// Holds reports whether a score meets the budget (float is the float model's score).
func (b Budget) Holds(s, float Score) bool {
	if b.UseAccuracy {
		return 100*(float.Accuracy-s.Accuracy) <= b.MaxDrop+1e-9
	}
	return float64(s.SQNR) >= b.MinSQNR
}

func (b Budget) String() string {
	if b.UseAccuracy {
		return fmt.Sprintf("top-1 accuracy at most %g points below float", b.MaxDrop)
	}
	return fmt.Sprintf("output SQNR at least %g dB", b.MinSQNR)
}

// Island is a group of nodes kept in float32 together: the operators between the
// last quantized tensors and one quantized tensor (e.g. a Conv and its fused ReLU).
type Island struct {
	// Tensor is the quantized tensor whose error chose the island, Nodes the nodes
	// excluded for it (names of the optimized model).
	Tensor string   `json:"tensor"`
	Nodes  []string `json:"nodes"`
	// LossDB is the SQNR the island's operators lost (the worst SQNR of their
	// quantized inputs minus the SQNR of Tensor) when it was chosen.
	LossDB float64 `json:"loss_db"`
	// After is the score with this island (and the ones before it) in float.
	After Score `json:"after"`
}

// FallbackResult is the outcome of Fallback.
type FallbackResult struct {
	Budget Budget `json:"budget"`
	Float  Score  `json:"float"`
	// Start is the score with no fallback; Final with Islands in float32.
	Start Score `json:"start"`
	Final Score `json:"final"`
	// Met says whether the budget holds for Final.
	Met bool `json:"met"`
	// Islands are the float islands kept, in the order they were chosen; Tried counts
	// the islands tried (including ones pruned because the budget held without them).
	Islands []Island `json:"islands"`
	Tried   int      `json:"islands_tried"`
	// Exclude is the final exclusion list (the caller's plus the islands' nodes).
	Exclude []string     `json:"exclude"`
	Model   *graph.Model `json:"-"`
}

// FallbackOptions configure Fallback.
type FallbackOptions struct {
	// MaxIslands bounds the islands tried (default: no bound but the model's layers).
	MaxIslands int
	// CompareN is the number of samples of the per-tensor error report (default: the
	// evaluator's).
	CompareN int
	// Progress is told about each step.
	Progress func(step string)
}

// Fallback keeps layers of m in float32, worst first, until the quantized model
// meets the budget on ev's data: at each step it measures every quantized tensor's
// SQNR against float on the validation data (Compare's per-tensor error), charges each
// layer with the SQNR it loses (its worst quantized input's SQNR minus its output's),
// and excludes the layer that loses most. Once the budget holds, islands that are no
// longer needed (the budget holds without them) are put back, so the result has as few
// float layers as the greedy order allows. r must cover every float activation (ranges
// from a Calibrator do). qopts.Exclude is kept as it is.
func Fallback(m *graph.Model, r Ranges, qopts QuantOptions, ev *Evaluator, b Budget, opts FallbackOptions) (*FallbackResult, error) {
	if ev == nil {
		return nil, errors.New("fallback: nil evaluator")
	}
	if b.UseAccuracy && !ev.Float().Labelled {
		return nil, errors.New("fallback: an accuracy budget needs labelled data")
	}
	ref, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	if err := upgradeOpset(ref, 13); err != nil {
		return nil, err
	}
	if _, err := ref.InferShapes(graph.InferOptions{Eval: runtime.ConstEval()}); err != nil {
		return nil, err
	}
	res := &FallbackResult{Budget: b, Float: ev.Float()}
	base := append([]string(nil), qopts.Exclude...)
	build := func(islands []Island) (*graph.Model, Score, error) {
		o := qopts
		o.Exclude = excludeList(base, islands)
		o.Notes = nil
		q, err := Quantize(m, r, o)
		if err != nil {
			return nil, Score{}, err
		}
		sc, err := ev.Score(q)
		return q, sc, err
	}
	q, sc, err := build(nil)
	if err != nil {
		return nil, err
	}
	res.Start, res.Final, res.Model = sc, sc, q
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, args...))
		}
	}
	var islands []Island
	excluded := map[string]bool{}
	for _, e := range base {
		excluded[e] = true
	}
	maxIslands := opts.MaxIslands
	if maxIslands <= 0 {
		maxIslands = len(ref.Graph.Nodes)
	}
	for !b.Holds(sc, res.Float) && len(islands) < maxIslands {
		cmp, err := Compare(ref, q, ev.data, compareN(opts.CompareN, ev.n), CompareOptions{Threads: ev.opts.Threads})
		if err != nil {
			return nil, fmt.Errorf("fallback: %w", err)
		}
		isl, ok := worstIsland(ref.Graph, cmp, excluded)
		if !ok {
			break
		}
		for _, n := range isl.Nodes {
			excluded[n] = true
		}
		islands = append(islands, isl)
		res.Tried++
		if q, sc, err = build(islands); err != nil {
			return nil, fmt.Errorf("fallback with %v in float32: %w", isl.Nodes, err)
		}
		islands[len(islands)-1].After = sc
		say("float32 %v (%s, %.1f dB lost): %s", isl.Nodes, isl.Tensor, isl.LossDB, sc)
		res.Model, res.Final = q, sc
	}
	// Put back islands the budget no longer needs (a later island may have removed
	// the error an earlier one was chosen for), latest first.
	if b.Holds(sc, res.Float) && len(islands) > 1 {
		for i := len(islands) - 2; i >= 0; i-- {
			try := append(append([]Island(nil), islands[:i]...), islands[i+1:]...)
			tq, tsc, err := build(try)
			if err != nil {
				continue
			}
			if b.Holds(tsc, res.Float) {
				say("%v not needed: %s without it", islands[i].Nodes, tsc)
				islands, res.Model, res.Final = try, tq, tsc
			}
		}
	}
	res.Islands = islands
	res.Exclude = excludeList(base, islands)
	res.Met = b.Holds(res.Final, res.Float)
	return res, nil
}

// TakesFloat lists the nodes of m's optimized graph that excluding the given nodes
// leaves in float32 besides them: the quantizable consumers of their outputs (a
// fallback leaves those outputs float32, so their consumers take float).
func TakesFloat(m *graph.Model, exclude []string) ([]string, error) {
	q, err := Optimize(m)
	if err != nil {
		return nil, err
	}
	p, err := planModel(q, exclude)
	if err != nil {
		return nil, err
	}
	return p.takesFloat, nil
}

func compareN(n, evalN int) int {
	if n <= 0 || n > evalN {
		return evalN
	}
	return n
}

func excludeList(base []string, islands []Island) []string {
	out := append([]string(nil), base...)
	for _, is := range islands {
		out = append(out, is.Nodes...)
	}
	return out
}

// idealSQNR is the SQNR of an ideal 8-bit quantizer on a full-scale uniform signal
// (6.02*8 + 1.76 dB).
const idealSQNR = 49.9

// worstIsland picks, from a per-tensor error report of the current model, the layer
// that loses the most SQNR and whose nodes are not all excluded yet.
func worstIsland(g *graph.Graph, cmp *Comparison, excluded map[string]bool) (Island, bool) {
	sqnr := map[string]float64{}
	for _, l := range cmp.Layers {
		sqnr[l.Tensor] = float64(l.SQNR)
	}
	prod := g.Producers()
	var cands []Island
	for _, l := range cmp.Layers {
		p := prod[l.Tensor]
		if p == nil {
			continue // a graph input
		}
		// Walk back over tensors that are not quantized (fused producers, float
		// operators) to the quantized tensors the layer reads.
		var nodes []string
		inSQNR := math.Inf(1)
		seen := map[*graph.Node]bool{}
		var walk func(n *graph.Node)
		walk = func(n *graph.Node) {
			if seen[n] {
				return
			}
			seen[n] = true
			nodes = append(nodes, n.Name)
			for _, in := range n.Inputs {
				if in == "" || g.Initializers[in] != nil {
					continue
				}
				if s, ok := sqnr[in]; ok {
					inSQNR = math.Min(inSQNR, s)
					continue
				}
				if pp := prod[in]; pp != nil && !excluded[pp.Name] {
					walk(pp)
				}
			}
		}
		walk(p)
		fresh := false
		for _, n := range nodes {
			if !excluded[n] {
				fresh = true
			}
		}
		if !fresh {
			continue
		}
		// An exact input (float32, or a graph input int8 represents exactly) counts as
		// an ideal 8-bit signal, so layers reading one compete fairly with the rest.
		loss := math.Min(inSQNR, idealSQNR) - float64(l.SQNR)
		sort.Strings(nodes)
		cands = append(cands, Island{Tensor: l.Tensor, Nodes: nodes, LossDB: loss})
	}
	if len(cands) == 0 {
		return Island{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].LossDB > cands[j].LossDB })
	return cands[0], true
}
