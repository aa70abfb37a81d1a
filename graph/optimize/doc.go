// Package optimize is the graph-level clean-up both CPU executors run once at
// session creation: it rewrites a model the way exporters write it (torch.onnx
// feeds shared weights and biases through Identity nodes, writes Clip bounds and
// Reshape targets as Constant nodes, computes shapes with Shape -> Gather ->
// Unsqueeze -> Concat chains, casts constants) into the form the kernels
// recognise: every compile-time value an initializer, no Identity, no dead node.
//
// It is a pure graph -> graph transform. It never changes what the graph
// computes beyond float rounding of folded subgraphs (which are evaluated by the
// caller's evaluator, i.e. by the same kernels that would run them), never
// touches quantization operators (the int8 lowering matches their patterns), and
// never removes a tensor the caller asks to keep (graph outputs, taps).
package optimize
