// Package onnx is the ONNX file-format layer: it reads and writes .onnx model files
// (protobuf, generated in onnxpb from the official onnx.proto), resolves tensors kept in
// external data files next to the model, and refuses malformed or oversized models before
// anything large is allocated. It knows nothing about operators; the graph package builds
// the IR on top of it.
package onnx
