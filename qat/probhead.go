package qat

// A classifier exported with its softmax (Keras models through tf2onnx, PaddleClas
// through paddle2onnx, a torch module whose forward returns probabilities) outputs
// probabilities, not logits. The cross-entropy of the output's own softmax would
// then be taken over probabilities: a loss near log(classes) whatever the
// prediction, with gradients too flat to train on. Fit instead takes the
// cross-entropy of the Softmax's input, the logits the probabilities came from
// (the same loss as the negative log-likelihood of the probabilities, and the
// same gradient PyTorch's log_softmax + nll_loss gives), and backpropagates from
// there. A LogSoftmax output is read the same way: softmax(log_softmax(z)) is
// softmax(z), but the output's fake quantization (fixed parameters, log-probabilities
// below the range saturate) would round the loss and stop the gradient of every
// class it saturates.

// probHead is the Softmax or LogSoftmax that computes the output.
type probHead struct {
	// at is the index of the Softmax in the program: the backward pass starts
	// below it.
	at int
	// in is the slot of the Softmax's input, the logits the loss reads.
	in int
}

// findProbHead returns the Softmax or LogSoftmax (over the class axis of an [N, classes] output)
// whose (log-)probabilities, or their fake quantization, are the net's output; nil when
// the output is anything else. Every slot has one writer.
func (n *Net) findProbHead() *probHead {
	out := n.output
	for _, o := range n.ops {
		if f, ok := o.(*fqOp); ok && f.out == out {
			out = f.in // the output's fake quantization (Softmax's fixed parameters)
		}
	}
	for i, o := range n.ops {
		if s, ok := o.(*softmaxOp); ok && s.out == out && (s.axis == -1 || s.axis == 1) {
			return &probHead{at: i, in: s.in}
		}
	}
	return nil
}

// lossLogits returns the values the training loss reads: the output, or the
// logits of a probability head.
func (n *Net) lossLogits() ([]int, []float32) {
	t := n.vals[n.output]
	if n.head != nil {
		t = n.vals[n.head.in]
	}
	return t.shape, t.data
}

// lossBackward is Backward from the values lossLogits returned.
func (n *Net) lossBackward(d []float32) {
	if n.head == nil {
		n.Backward(d)
		return
	}
	n.backwardFrom(n.head.in, n.head.at-1, d)
}
