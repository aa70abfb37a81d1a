// Package zoo builds standard vision networks as float32 ONNX graphs with random
// weights (fixed seed), so that users and tests can quantize, run and simulate them
// without model files: ResNet-50 v1.5 and MobileNet v1 at 224x224, an
// SSD-ResNet34-style detector at 1200x1200 (MLPerf's SSD-large), the YOLOv5 v6.x
// family (n/s/m/l/x at 640x640, the P6 variants at 1280x1280), and a tiny CNN for
// fast tests.
//
// The architectures follow the reference models layer for layer (shapes, strides,
// padding), because the simulator's timing depends on exactly those; the weights are
// He-uniform random numbers, so accuracy is meaningless but the activation statistics
// are realistic enough for calibration and int8 execution.
package zoo
