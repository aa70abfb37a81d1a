// Package graph is the project's intermediate representation of a model: typed values
// with (possibly symbolic) shapes, nodes with attributes, initializers, a topological
// order, per-operator shape inference and validation. It converts to and from ONNX
// protobuf (package onnx) and is what the quantizer rewrites and what the runtime and the
// NPU simulator consume.
package graph
