package quantizer

// Values compared for equality (twenty-third session). A Switch Transformer
// (--unseen18's switch_moe_op13) routes each token to one expert, numbers the
// tokens of each expert by a cumulative sum of the one-hot route (CumSum, Mul,
// Sub 1) and builds its dispatch tensor by comparing those positions with the
// capacity slots, a Range cast to float (Equal). Quantized, the positions took
// an int8 step of 1/10 of their range after the Sub: an integer position came
// back as 2.98, equal to no slot, the dispatch tensor was all zeros and every
// expert's output was lost (the layer's output 0.7 dB from float32, the logits
// 5.7 dB). LoFTR's mutual nearest neighbours (loftr_coarse_op13) compare the
// confidence matrix with its own row and column maxima (Equal): on int8 values
// several entries of a row tie with the maximum. Equal is exact: any step at all
// moves a value off what it is compared with. The rule: the float inputs of
// Equal are integer sinks (plan_integer.go): they, and what computes them
// through elementwise arithmetic and data movement, stay float32, as a Cast to
// bool's input does. Less and Greater are left to int8: a threshold moves only
// the values within an int8 step of it, as any rounding does.
