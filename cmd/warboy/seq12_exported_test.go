package main

import (
	"testing"
)

// Sequence values in the executor (twenty-second session; docs/runtime.md,
// "Sequence values (twenty-second session)"; scripts/make_seq12_testdata.py):
// torch's repeat_interleave with a tensor of repeats (lenreg_repeat_op13 of
// --unseen16: SplitToSequence by a list of sizes, a Loop of SequenceAt /
// SequenceInsert over chunks of unequal sizes, ConcatFromSequence) and every
// sequence operator in the other spellings (seq_ops_op13), against ONNX
// Runtime's outputs at 1 and 2 threads. Before, every command refused the
// export: `SplitToSequence "/SplitToSequence": unsupported operator`.
func TestSequenceExportsAsORT(t *testing.T) {
	checkAgainstORT(t, "lenreg_repeat_op13.onnx", "npz_seq12_lenreg_repeat_op13", nil, []string{"mel", "durations"}, 1e-5, 1, 2)
	checkAgainstORT(t, "seq_ops_op13.onnx", "npz_seq12_seq_ops_op13", nil,
		[]string{"count", "cat", "cat4", "stacked", "pair", "sums", "chosen_count", "chosen_last"}, 1e-6, 1, 2)
}
