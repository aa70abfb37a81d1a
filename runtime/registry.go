package runtime

import (
	"fmt"
	"sort"
	"sync"

	"github.com/warboy-sim/warboy/graph"
)

// ExecContext carries per-run settings to kernels.
type ExecContext struct {
	// Threads is the number of goroutines a kernel may use.
	Threads int
	// arena recycles output buffers across runs (nil: plain allocation).
	arena *runArena
	mu    sync.Mutex
	// views are the run's Concat buffers (concat_view.go).
	views map[*viewGroup][]float32
	// overwrite has bit i set when the running step may write over input i
	// (residual_inplace.go).
	overwrite uint64
	// noSlab keeps the running step's small outputs off the run's block
	// (they are kept past the run: arena_slab.go).
	noSlab bool
}

// Kernel executes one node. Kernels are built once per session and must be safe for
// concurrent Run calls (keep per-call state on the stack or in the outputs).
type Kernel interface {
	Run(ctx *ExecContext, inputs []*graph.Tensor) ([]*graph.Tensor, error)
}

// KernelFunc adapts a function to Kernel.
type KernelFunc func(ctx *ExecContext, inputs []*graph.Tensor) ([]*graph.Tensor, error)

// Run calls f.
func (f KernelFunc) Run(ctx *ExecContext, inputs []*graph.Tensor) ([]*graph.Tensor, error) {
	return f(ctx, inputs)
}

// BuildContext is what a kernel builder sees of its node at session creation.
type BuildContext struct {
	Node  *graph.Node
	Opset int64
	// Inputs holds static type/shape information (nil for absent optional inputs;
	// shapes may be partially unknown).
	Inputs []*graph.Value
	// Consts holds inputs whose value is fixed (initializers), else nil. Builders use
	// them to pre-pack weights.
	Consts []*graph.Tensor
	// Outputs holds static type/shape information of the outputs (may be nil).
	Outputs []*graph.Value
	Threads int
}

// Const returns the constant value of input i, or nil.
func (b *BuildContext) Const(i int) *graph.Tensor {
	if i < len(b.Consts) {
		return b.Consts[i]
	}
	return nil
}

// Input returns the static info of input i, or nil.
func (b *BuildContext) Input(i int) *graph.Value {
	if i < len(b.Inputs) {
		return b.Inputs[i]
	}
	return nil
}

// Errorf formats an error naming the node.
func (b *BuildContext) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", b.Node.Label(), fmt.Sprintf(format, args...))
}

// Builder makes the kernel of one node.
type Builder func(b *BuildContext) (Kernel, error)

// OpInfo describes an operator the executor implements.
type OpInfo struct {
	OpType string
	Domain string
	// Int8 marks kernels that compute in the integer domain.
	Int8  bool
	Build Builder
}

var (
	regMu    sync.RWMutex
	registry = map[string]*OpInfo{}
)

func regKey(domain, op string) string {
	if domain == "ai.onnx" {
		domain = ""
	}
	return domain + "::" + op
}

// Register adds an operator implementation (called from init functions).
func Register(info OpInfo) {
	regMu.Lock()
	defer regMu.Unlock()
	cp := info
	registry[regKey(info.Domain, info.OpType)] = &cp
}

// Lookup returns the implementation of an operator, or nil.
func Lookup(domain, op string) *OpInfo {
	regMu.RLock()
	defer regMu.RUnlock()
	return registry[regKey(domain, op)]
}

// SupportedOps lists the operators the executor implements, sorted.
func SupportedOps() []OpInfo {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]OpInfo, 0, len(registry))
	for _, v := range registry {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].OpType < out[j].OpType
	})
	return out
}
