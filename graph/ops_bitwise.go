package graph

// BitwiseAnd, BitwiseOr, BitwiseXor and BitwiseNot (opset 18) on integer tensors:
// exporters of 4-bit packed weights (GPTQ/AWQ-style) unpack the nibbles with
// BitShift and BitwiseAnd, and hashed embeddings mix token ids with them.

var bitwiseTypes = typeSet{Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64}

func init() {
	for _, op := range []string{"BitwiseAnd", "BitwiseOr", "BitwiseXor"} {
		RegisterOp(broadcastSchema(op, 18, 2, 2, bitwiseTypes, Undefined))
	}
	RegisterOp(unarySchema("BitwiseNot", 18, bitwiseTypes))
}
