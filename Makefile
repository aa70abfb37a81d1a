# warboy: int8 quantization, CPU execution and Warboy NPU simulation of ONNX models.
GO      ?= go
BIN     := bin/warboy
# Packages with concurrent code, run again under the race detector (kernels there
# on the best and the pure-Go dispatch paths only: kernels/race_on_test.go).
RACE_PKGS := ./runtime/... ./kernels/... ./quantizer/... ./npu/... ./qat/...

.PHONY: all build test demo deps ort generate check-generate vet fmt bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/warboy

# The main job on the bundled model and data: quantize with every calibration method,
# report int8 vs float accuracy, Warboy latency and CPU latency.
demo: build
	./$(BIN) bench

deps:
	@scripts/install-deps.sh

ort:
	cd tools/ort && npm ci --ignore-scripts --no-audit --no-fund

test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt: unformatted files:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -timeout 45m ./...
	$(GO) test -race -short -timeout 30m $(RACE_PKGS)

# Regenerate the protobuf bindings and the assembly kernels (needs protoc).
generate:
	$(GO) generate ./...

# Fails when the committed generated code differs from what the generators produce,
# or when the kernel generator (its own module, so `go vet ./...` does not see it) has
# vet findings (a format string's extra argument once reached the generated comments).
check-generate: generate
	cd kernels/_gen && $(GO) vet .
	git diff --exit-code -- onnx/onnxpb kernels

vet:
	$(GO) vet ./...
	cd kernels/_gen && $(GO) vet .

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

clean:
	rm -rf bin
