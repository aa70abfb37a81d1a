#!/usr/bin/python3
"""Write the small test models of the twenty-third session's unseen18 triage
(docs/models.md, "Unseen set 18 (twenty-third session)") and their data:

    /usr/bin/python3 scripts/make_unseen18_testdata.py [OUTDIR]     (default testdata/exported)

Each as NAME.onnx with two input samples npz_u18_NAME/s{0,1}.npz (two sizes of
its symbolic dimensions) and ONNX Runtime's outputs npz_u18_NAME_ort/s{0,1}.npz.
Tests: TestUnseen18AsORT (cmd/warboy).
- mamba2_ssd_op14 (scripts/unseen18_models.py): two Mamba-2 blocks with the chunked
  state-space duality: the four-operand Einsum "bclhn,bcshn,bhcls,bcshp->bclhp"
  and three-operand ones, on a symbolic length padded to a multiple of the chunk.
  Before: the direct loop over every label, float32 5.7x ONNX Runtime.
- einsum_pairwise_ops: an onnx.helper graph of LoFTR's linear-attention Einsum
  "nlhd,nhdv,nlh->nlhv", a two-operand one whose label one operand sums alone
  ("ijk,jl->il"), and a chain whose output order differs from its last product's
  ("ab,bc,cd->da").
Committed so that the tests need neither Python nor node.
"""
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen18_models as u  # noqa: E402


def mamba2():
    import onnx
    import torch
    torch.manual_seed(0)
    model = u.randomise_norms(u.mamba2()).eval()
    spec = u.SPECS["mamba2_ssd_op14"]
    first = spec[2](np.random.default_rng(59), False)
    buf = io.BytesIO()
    torch.onnx.export(model, tuple(torch.from_numpy(v) for v in first.values()), buf, opset_version=14,
                      input_names=list(first), output_names=spec[3], dynamic_axes=spec[4])
    return onnx.load_from_string(buf.getvalue())


def einsum_ops():
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Einsum", ["q", "kv", "z"], ["attn"], name="linear_attention",
                              equation="nlhd,nhdv,nlh->nlhv"),
             helper.make_node("Einsum", ["x3", "w"], ["summed"], name="one_side_sum", equation="ijk,jl->il"),
             helper.make_node("Einsum", ["a", "b", "c"], ["chain"], name="chain", equation="ab,bc,cd->da")]
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("q", f, [1, "L", 2, 4]),
           helper.make_tensor_value_info("kv", f, [1, 2, 4, 3]),
           helper.make_tensor_value_info("z", f, [1, "L", 2]),
           helper.make_tensor_value_info("x3", f, ["I", 5, 6]),
           helper.make_tensor_value_info("w", f, [5, 3]),
           helper.make_tensor_value_info("a", f, ["A", 4]),
           helper.make_tensor_value_info("b", f, [4, 5]),
           helper.make_tensor_value_info("c", f, [5, 3])]
    outs = [helper.make_tensor_value_info("attn", f, [1, "L", 2, 3]),
            helper.make_tensor_value_info("summed", f, ["I", 3]),
            helper.make_tensor_value_info("chain", f, [3, "A"])]
    return u._model(nodes, [], "einsum_pairwise_ops", ins, outs, [("", 13)])


def _einsum_feeds(rng, alt):
    ln, i, a = (3, 2, 5) if alt else (7, 4, 2)

    def r(*s):
        return rng.standard_normal(s).astype(np.float32)
    return {"q": r(1, ln, 2, 4), "kv": r(1, 2, 4, 3), "z": r(1, ln, 2), "x3": r(i, 5, 6), "w": r(5, 3),
            "a": r(a, 4), "b": r(4, 5), "c": r(5, 3)}


def main(out):
    rng = np.random.default_rng(18)
    models = {"mamba2_ssd_op14": (mamba2, u.SPECS["mamba2_ssd_op14"][2]),
              "einsum_pairwise_ops": (einsum_ops, _einsum_feeds)}
    import onnx
    for name, (builder, gen) in models.items():
        p = os.path.join(out, name + ".onnx")
        onnx.save(builder(), p)
        data = "npz_u18_" + name
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds, 1))
        print(p, os.path.getsize(p))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
