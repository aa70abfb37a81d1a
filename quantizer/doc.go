// Package quantizer turns float32 ONNX models into int8 models that follow the TFLite
// int8 quantization spec, written as standard ONNX QuantizeLinear/DequantizeLinear (QDQ)
// graphs at opset 13 (or, optionally, the QOperator form with QLinearConv and
// QLinearMatMul).
//
// The pipeline mirrors FuriosaAI's quantizer API:
//
//	opt, _ := quantizer.Optimize(model)            // fold BatchNorm, drop Identity/Dropout, fold constants
//	cal, _ := quantizer.NewCalibrator(opt, quantizer.PercentileAsym, quantizer.CalibOptions{})
//	for _, b := range batches { cal.Collect(b) }    // one streaming pass, O(tensors x bins) memory
//	ranges, _ := cal.ComputeRanges()                // tensor name -> [min, max], JSON with SaveRanges
//	q, _ := quantizer.Quantize(opt, ranges, quantizer.QuantOptions{})
//	quantizer.ConvertInputType(q, "input", graph.Uint8, &quantizer.PixelParams) // optional model editing
//
// Calibrate runs the same loop over a Batches source. NewCalibrator, Calibrate and
// Quantize optimize the model themselves (Optimize is idempotent), so ranges always
// name the tensors of the optimized graph.
//
// Calibration keeps, per tensor, a running min/max and a histogram on a grid anchored
// at zero whose range grows by whole bins, so that ten calibration methods (MIN_MAX,
// ENTROPY, PERCENTILE, MSE and SQNR, each symmetric or asymmetric) can be computed
// from one pass over the data, without keeping any activation. Compare runs a float
// model and its quantized version side by side and reports, per quantized tensor, the
// signal-to-quantization-noise ratio and cosine similarity, worst first.
//
// QuantizeDynamic implements weight-only int8 quantization with activations quantized
// at run time (DynamicQuantizeLinear + MatMulInteger), as PyTorch's quantize_dynamic.
//
// DequantizeQDQ goes the other way for a model another tool quantized in QDQ form:
// its float32 form (weights on their grids, activation pairs removed, the Relus a
// grid from 0 stood for put back) and its activations' ranges, the start of
// quantization-aware training when the float model is not at hand.
package quantizer

// Version is recorded in the metadata of every model the quantizer writes.
const Version = "0.1.0"
