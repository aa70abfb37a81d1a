// Package qat fine-tunes float32 ONNX models for int8 (quantization-aware training).
//
// New builds, from the quantize-ready graph that quantizer.PlanTraining returns (the
// graph Quantize rewrites: BatchNorm folded, opset 13), a static program of
// differentiable operators with fake quantization inserted exactly where Quantize
// puts QuantizeLinear/DequantizeLinear: per-tensor asymmetric int8 activations (EMA
// or fixed ranges initialised from a calibration pass), per-channel symmetric int8
// weights (scale max|w|/127) and int32 biases with scale s_in*s_w. Rounding uses the
// straight-through estimator (gradients pass unchanged inside the representable
// range, zero outside it, as PyTorch's fake quantization).
//
// A Conv whose output fed a BatchNormalization in the original model trains as
// PyTorch's fused ConvBn QAT modules do: the conv weight is scaled by
// gamma/sqrt(running_var+eps) and fake-quantized, the convolution is scaled back and
// normalized with the batch statistics (running statistics updated) until the
// statistics are frozen, after which it computes exactly the folded conv the int8
// model runs.
//
// Fit trains on the labels' cross-entropy, or without labels on the float model's
// outputs (Options.Loss: its softmax, DistillKL, or every output, OutputMatchLoss,
// for detectors and other models whose outputs are not class scores); integer
// outputs are left out of training (TrainedOutputs). It follows PyTorch's QAT recipes: SGD with momentum (or AdamW), a linear warmup
// then cosine decay, BatchNorm statistics and then activation ranges frozen at given
// points of training (fractions of an epoch), and Checkpoint calls (before the first
// step and a few times per epoch) at which the caller may export and score the net
// to keep the best one.
//
// Beyond convolutions and GEMMs the program covers the operators of common CNNs
// (docs/quantizer.md, section 9): elementwise activations, data movement (Concat,
// Split, Transpose, Slice, Pad, nearest Resize, ...: a gather through an index map
// obtained by running the runtime's own kernel on element indices; linear and cubic
// Resize as a separable linear map whose weights are read off that kernel too),
// reductions, Einsum, Where, Softmax, normalizations, BatchNormalization that could not
// be folded, 1-D convolutions and pooling (as the 2-D ones of height 1), 3-D ones
// (ops_conv3d.go, ops_convtranspose3d.go, ops_pool3d.go), embedding
// lookups whose tables train (ops_embedding.go), LSTM and GRU trained through time
// with the hidden state fake-quantized at every step as the int8 executor quantizes
// it (ops_rnn.go), Loop, If and Scan bodies that read activations (ops_body.go:
// the body built into the program in float32, as both executors run it; a loop
// trained through its iterations, each run again from its saved carried values in
// the backward pass), and the shape arithmetic that
// depends on the batch size, the sequence length or integer inputs (evaluated at run
// time with the runtime's kernels: attention masks, position ids). Round, Floor,
// Ceil and Sign pass no gradient, as in PyTorch; the weights they (or an
// integer or index computed from an activation) cut off from the outputs are
// reported (Net.NoGradient), and a graph where they cut off every weight is
// refused (nograd.go). An operator without a gradient that no trainable weight
// feeds (an STFT front end on the input signal) runs as data on the runtime's
// kernel (data.go). New refuses a graph with an operator that has no gradient
// where one is needed with an error naming the node (ErrNoGradient).
//
// A model may have several inputs (inputs.go): a training sample is every input's
// values in turn (InputNames, SampleLen), integer and boolean inputs (token ids,
// masks) carrying no gradient. Symbolic dimensions after the batch are either bound
// to the data's one sample shape (Config.SampleShape, SampleShapes) or, for
// sequences of several lengths, left symbolic: every batch then holds samples of one
// shape (ShapedData, SetSampleShapes; batches.go) and the model is written with its
// symbolic dimensions.
//
// A batch may run in parts (Options.MicroBatch, microbatch.go): each part forward
// and backward, the gradients of the batch's mean loss accumulated before the one
// optimizer step, the activation ranges moved once toward the whole batch's
// min/max. A model exported for one sample that fixes its batch inside trains so,
// one sample at a time (Net.StacksSamples finds it before training); one that
// declares a fixed batch B above one runs in parts of exactly B, every batch a
// multiple of B (Net.FixedBatch, fixedbatch.go).
//
// Forward and backward passes run on the executors' float32 GEMMs (kernels.Sgemm,
// SgemmPackedAFunc, SgemmShifted), over chunks of the batch that stay in cache
// (conv_core.go): stride-1 convolutions' forward pass and input gradient as the
// runtime's implicit GEMM on zero-padded planes (the input gradient as the
// convolution of dy with the transposed, flipped weights; conv_shifted.go), strided
// ones' forward pass and weight gradient on the input's phase planes
// (conv_phases.go) and their input gradient as one stride-1 correlation of dy per
// phase (conv_phase_grad.go), the weight gradient as the taps of the padded image
// times dy (conv_wgrad_shifted.go), and what fits none of these as im2col + GEMM +
// col2im. Export writes the trained weights and ranges back and returns the
// standard QDQ model that quantizer.Quantize writes.
package qat
