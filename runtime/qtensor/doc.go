// Package qtensor describes how the int8 executor stores quantized tensors: the
// quantization parameters and rounding of QuantizeLinear/DequantizeLinear, and the
// channels-last memory layouts. It is shared by the int8 lowering pass
// (runtime/lower) and the int8 executor (runtime).
package qtensor
