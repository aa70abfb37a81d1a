// Package lower is the int8 lowering pass (a compiler pass, not an executor). It rewrites a quantized model (QDQ: QuantizeLinear /
// DequantizeLinear pairs around float operators; QOperator: QLinearConv and friends;
// or dynamically quantized: DynamicQuantizeLinear + MatMulInteger) into a graph of
// fused int8 operators (domain warboy.int8) with requantization factors computed
// here, once.
//
// How it works. Every value of the source graph gets a state: available under its own
// name in the lowered graph (materialized), and/or represented by an int8 tensor of the
// lowered graph (a qref: the int8 tensor, its scale and zero point, and how its memory
// layout maps to the source value's shape). For a float value, "represented by q"
// means value == dequantize(q) exactly: DequantizeLinear outputs, and the outputs of
// data-movement operators applied to them (Reshape, Transpose, MaxPool, ... commute
// with dequantization, so they are executed on int8 data or folded into layouts).
// A float operator whose inputs are represented by int8 tensors and whose output only
// feeds QuantizeLinear nodes (after an optional Relu/Clip) is replaced by one int8
// operator that writes the quantized output directly. Anything else runs in float32
// on materialized inputs (dequantized on demand), with a warning that names the node.
//
// Layouts: convolutions and pooling run channels-last (NHWC), so their outputs are
// stored NHWC and stay so through elementwise operators, further convolutions and
// pooling; a conversion is inserted only where a consumer needs the logical order.
// A Flatten/Reshape of an NHWC tensor feeding a Gemm/MatMul is folded into the
// weights (their columns are permuted when they are packed), so no transpose runs.
//
// The package owns the int8 operator dialect (Domain): the operators the pass emits
// and their shape schemas (schema.go). The executor (package runtime) implements the
// dialect's kernels and calls Lower from runtime.NewSession; what the pass needs from
// the executor (evaluating a float subgraph, asking whether an int8 kernel exists) is
// passed in as an Executor, so this package does not import runtime.
//
// Files, in pass order: lower.go (entry, per-value state), values.go (value states,
// int8 references, output side), weights.go, dispatch.go (the per-node dispatcher and
// float fallbacks), qdq.go, lut.go (lookup-table groups), conv.go, gemm.go, binary.go,
// pool_norm.go, datamove.go, qoperator.go (QLinearConv and friends), finish.go.
package lower
