// Package onnxpb holds the Go bindings of ONNX's protobuf schema.
//
// onnx.proto is the official schema, copied from ONNX 1.12 as shipped by Debian's
// python3-onnx package (/usr/lib/python3/dist-packages/onnx/onnx.proto). The Go code is
// generated from it by protoc and protoc-gen-go; run `go generate ./onnx/onnxpb` (or
// `make generate`) after changing the schema. Never edit onnx.pb.go by hand.
package onnxpb

//go:generate sh -c "go build -o ${TMPDIR:-/tmp}/warboy-protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go && protoc --plugin=protoc-gen-go=${TMPDIR:-/tmp}/warboy-protoc-gen-go --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/warboy-sim/warboy/onnx/onnxpb onnx.proto"
