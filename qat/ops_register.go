package qat

// registerMoreOps adds the operators beyond the bundled models' set: activations of
// mobile networks, data movement (channel shuffles, concatenations, padding,
// upsampling), reductions, Softmax and BatchNormalization that could not be folded.
func registerMoreOps() {
	for _, op := range []string{"HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Softplus", "Softsign", "Neg", "Abs", "Exp", "Erf",
		"Sqrt", "Reciprocal", "Log", "Mish", "Gelu", "Celu", "ThresholdedRelu", "Shrink", "Sin", "Cos",
		"Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"} {
		builders[op] = buildAct
	}
	for _, op := range []string{"Transpose", "Concat", "Split", "Slice", "Pad", "Resize",
		"DepthToSpace", "SpaceToDepth", "Tile", "Expand"} {
		builders[op] = buildMove
	}
	builders["Gather"] = buildGather
	builders["GatherND"] = buildMove // by indices computed or constant: a gather like the others
	builders["CumSum"] = buildCumSum
	builders["Einsum"] = buildEinsum
	builders["GatherElements"] = buildGatherElements
	builders["ScatterElements"] = buildScatter
	builders["ScatterND"] = buildScatter
	builders["TopK"] = buildTopK
	builders["Where"] = buildWhere
	builders["Max"] = buildMinMax
	builders["Min"] = buildMinMax
	builders["Softmax"] = buildSoftmax
	builders["LogSoftmax"] = buildSoftmax
	builders["ReduceMean"] = buildReduce
	builders["ReduceSum"] = buildReduce
	for _, op := range []string{"ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceProd"} {
		builders[op] = buildReduce
	}
	builders["BatchNormalization"] = buildBatchNorm
	builders["Div"] = buildBinary
	builders["Mod"] = buildBinary
	builders["Det"] = buildDet
	builders["Loop"] = buildLoop
	builders["If"] = buildIf
	builders["Scan"] = buildScan
	builders["DFT"] = buildDFT
	builders["Pow"] = buildPow
	builders["PRelu"] = buildPRelu
	builders["LayerNormalization"] = buildLayerNorm
	builders["InstanceNormalization"] = buildInstanceNorm
	builders["GroupNormalization"] = buildGroupNorm
	builders["ReduceMax"] = buildReduceMax
	builders["ReduceMin"] = buildReduceMax
	builders["ConvTranspose"] = buildConvTranspose
	builders["LSTM"] = buildRNN
	builders["GRU"] = buildRNN
	builders["RNN"] = buildRNN
	builders["Cast"] = buildCast
	builders["Sum"] = buildSum
	builders["LRN"] = buildLRN
	builders["GridSample"] = buildGridSample
	builders["AffineGrid"] = buildAffineGrid
	builders["MaxUnpool"] = buildMaxUnpool
	builders["Col2Im"] = buildCol2Im
	builders["DeformConv"] = buildDeformConv
	builders["RoiAlign"] = buildRoi
	builders["MaxRoiPool"] = buildRoi
	builders["Mean"] = buildSum
	builders["CastLike"] = buildCast
	for op := range zeroGradOps {
		builders[op] = buildStep
	}
}
