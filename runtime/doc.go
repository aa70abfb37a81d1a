// Package runtime executes models: a float32 reference executor for every supported
// ONNX operator, and an int8 executor that lowers quantized (QDQ or QOperator) graphs
// onto the int8 kernels of package kernels. Both run through one Session type whose
// Run is safe for concurrent use; any intermediate tensor can be tapped, which is how
// int8 and float results are compared layer by layer.
//
// The int8 lowering pass itself is package runtime/lower (NewSession calls
// lower.Lower); the int8 tensor layouts it shares with the executor are in
// runtime/qtensor. Here: session.go, registry.go, arena.go, the float32 operators in
// op_<family>.go files, and the int8 operators in op_int8*.go.
package runtime
