#!/usr/bin/python3
"""Write the test models of the twenty-second session's sequence values
(docs/runtime.md, "Sequence values (twenty-second session)") and their data:

    /usr/bin/python3 scripts/make_seq12_testdata.py [OUTDIR]     (default testdata/exported)

Each as NAME.onnx with two input samples npz_seq12_NAME/s{0,1}.npz and ONNX
Runtime's outputs npz_seq12_NAME_ort/s{0,1}.npz (tools/ort, `make ort`).
Tests: TestSequenceExportsAsORT (cmd/warboy).
- lenreg_repeat_op13 (scripts/unseen16_models.py, torch.onnx): a TTS length
  regulator by torch.repeat_interleave with a tensor of repeats: SplitToSequence
  by a list of sizes, a Loop of SequenceAt / Expand / SequenceInsert over chunks
  of unequal sizes, ConcatFromSequence. Before: `SplitToSequence
  "/SplitToSequence": unsupported operator`. Samples T = 12 and T = 7.
- seq_ops_op13 (onnx.helper): every sequence operator in the spellings the
  export does not use: SplitToSequence by a list, by an uneven scalar and
  without a split (keepdims 0), SequenceInsert at a position, SequenceErase of
  the last, SequenceLength, SequenceConstruct, ConcatFromSequence with and
  without new_axis (a negative axis), a Loop carrying a sequence whose body
  reads another one (SequenceAt), an If choosing between two sequences.
  Samples N = 3 and N = 2, different split lists and positions.
Committed so that the tests need neither Python nor node.
"""
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen16_models as u  # noqa: E402


def seq_ops():
    from onnx import helper, TensorProto
    nodes = []
    inits = []

    def node(op, ins, outs, **kw):
        nodes.append(helper.make_node(op, ins, outs, name=outs[0], **kw))

    def const(name, arr):
        inits.append(helper.make_tensor(name, TensorProto.INT64 if arr.dtype == np.int64 else TensorProto.FLOAT,
                                        arr.shape, arr.flatten().tolist()))
        return name
    seq = helper.make_tensor_sequence_value_info
    node("SplitToSequence", ["x", "sizes"], ["s1"], axis=1)
    node("SequenceAt", ["s1", const("zero", np.array(0, np.int64))], ["first"])
    node("SequenceInsert", ["s1", "first", "pos"], ["s2"])
    node("SequenceErase", ["s2", const("minus1", np.array(-1, np.int64))], ["s3"])
    node("SequenceLength", ["s3"], ["count"])
    node("ConcatFromSequence", ["s3"], ["cat"], axis=1)
    node("SplitToSequence", ["x", const("four", np.array(4, np.int64))], ["s4"], axis=-1)
    node("ConcatFromSequence", ["s4"], ["cat4"], axis=-1)
    node("SplitToSequence", ["x"], ["rows"], axis=0, keepdims=0)
    node("ConcatFromSequence", ["rows"], ["stacked"], axis=-1, new_axis=1)
    node("Mul", ["x", const("two", np.array(2, np.float32))], ["x2"])
    node("SequenceConstruct", ["x", "x2"], ["pair_s"])
    node("ConcatFromSequence", ["pair_s"], ["pair"], axis=0, new_axis=1)
    # A Loop carrying a list whose body reads another sequence.
    node("SequenceLength", ["s1"], ["k"])
    node("SequenceEmpty", [], ["empty"], dtype=TensorProto.FLOAT)
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]),
         helper.make_node("SequenceAt", ["s1", "i"], ["chunk"]),
         helper.make_node("ReduceSum", ["chunk", "axes1"], ["sum"], keepdims=1),
         helper.make_node("SequenceInsert", ["acc", "sum"], ["acc_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         seq("acc", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []), seq("acc_out", TensorProto.FLOAT, None)],
        [helper.make_tensor("axes1", TensorProto.INT64, [1], [1])])
    node("Loop", ["k", "", "empty"], ["sums_s"], body=body)
    node("ConcatFromSequence", ["sums_s"], ["sums"], axis=1)
    # An If choosing between two sequences (data-dependent condition).
    node("Greater", ["count", const("two_i", np.array(2, np.int64))], ["big"])
    then = helper.make_graph([helper.make_node("SequenceErase", ["s3", "zero"], ["t_out"])], "then", [],
                             [seq("t_out", TensorProto.FLOAT, None)])
    els = helper.make_graph([helper.make_node("SequenceInsert", ["s3", "x2"], ["e_out"])], "else", [],
                            [seq("e_out", TensorProto.FLOAT, None)])
    node("If", ["big"], ["chosen"], then_branch=then, else_branch=els)
    node("SequenceLength", ["chosen"], ["chosen_count"])
    node("SequenceAt", ["chosen", "minus1"], ["chosen_last"])
    g = helper.make_graph(
        nodes, "seq_ops",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6]),
         helper.make_tensor_value_info("sizes", TensorProto.INT64, ["K"]),
         helper.make_tensor_value_info("pos", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("count", TensorProto.INT64, []),
         helper.make_tensor_value_info("cat", TensorProto.FLOAT, ["N", "C"]),
         helper.make_tensor_value_info("cat4", TensorProto.FLOAT, ["N", 6]),
         helper.make_tensor_value_info("stacked", TensorProto.FLOAT, [6, "N"]),
         helper.make_tensor_value_info("pair", TensorProto.FLOAT, [2, "N", 6]),
         helper.make_tensor_value_info("sums", TensorProto.FLOAT, ["N", "K"]),
         helper.make_tensor_value_info("chosen_count", TensorProto.INT64, []),
         helper.make_tensor_value_info("chosen_last", TensorProto.FLOAT, ["N", None])],
        inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx.helper")


def seq_ops_feeds(rng, alt):
    n = 2 if alt else 3
    return {"x": rng.standard_normal((n, 6)).astype(np.float32),
            "sizes": np.array([1, 5] if alt else [2, 1, 3], np.int64),
            "pos": np.array(-1 if alt else 1, np.int64)}


def lenreg():
    with tempfile.TemporaryDirectory() as td:
        p = u.export("lenreg_repeat_op13", td)
        import onnx
        return onnx.load(p)


def lenreg_feeds(rng, alt):
    return {"tokens": rng.integers(0, 40, (1, 7 if alt else 12)).astype(np.int64)}


def main(out):
    rng = np.random.default_rng(22)
    import onnx
    for name, builder, gen in (("lenreg_repeat_op13", lenreg, lenreg_feeds), ("seq_ops_op13", seq_ops, seq_ops_feeds)):
        p = os.path.join(out, name + ".onnx")
        m = builder()
        onnx.checker.check_model(m)
        onnx.save(m, p)
        data = "npz_seq12_" + name
        for d in (data, data + "_ort"):
            shutil.rmtree(os.path.join(out, d), ignore_errors=True)
            os.makedirs(os.path.join(out, d))
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds, 1))
        print(p, os.path.getsize(p))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
