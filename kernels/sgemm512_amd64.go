//go:build amd64 && !purego && !noasm

package kernels

//go:generate sh -c "cd _gen && go run . -set sgemm512 -out ../asm_sgemm512_amd64.s -stubs ../stubs_sgemm512_amd64.go -pkg kernels"
