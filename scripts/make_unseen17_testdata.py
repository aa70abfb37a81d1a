#!/usr/bin/python3
"""Write the small test models of the twenty-second session's unseen17 triage
(docs/models.md, "Unseen set 17 (twenty-second session)") and their data:

    /usr/bin/python3 scripts/make_unseen17_testdata.py [OUTDIR]     (default testdata/exported)

Each as NAME.onnx with two input samples npz_u17_NAME/s{0,1}.npz (two sizes of
its symbolic dimensions) and ONNX Runtime's outputs npz_u17_NAME_ort/s{0,1}.npz.
Tests: TestUnseen17AsORT (cmd/warboy).
- sampling_decode_op15 (scripts/unseen17_models.py): one decoder step with the
  Hugging Face logits processors (repetition penalty, temperature, top-k, top-p)
  and torch.multinomial, at top_p 0: one token is left, so the Multinomial draw
  is deterministic. Before: `Multinomial "/Multinomial": unsupported operator`.
- multinomial_ops: an onnx.helper graph of Multinomial with sample_size 3 and
  dtype int64 on float32 log-probabilities (ONNX Runtime's CPU
  kernel takes float32 only) where each row keeps one class
  (the others -inf), beside a Softmax of the same row (a float output).
Committed so that the tests need neither Python nor node.
"""
import io
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen17_models as u  # noqa: E402


def sampling():
    import onnx
    import torch
    torch.manual_seed(0)
    model = u.randomise_norms(u.sampling_decode()).eval()
    spec = u.SPECS["sampling_decode_op15"]
    first = spec[2](np.random.default_rng(53), False)
    buf = io.BytesIO()
    torch.onnx.export(model, tuple(torch.from_numpy(v) for v in first.values()), buf, opset_version=15,
                      input_names=list(first), output_names=spec[3], dynamic_axes=spec[4])
    return onnx.load_from_string(buf.getvalue())


def multinomial_ops():
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Multinomial", ["logp"], ["draws"], name="draw", sample_size=3, dtype=TensorProto.INT64,
                              seed=5.0),
             helper.make_node("Softmax", ["logp"], ["probs"], name="softmax", axis=-1)]
    return u._model(nodes, [], "multinomial_ops",
                    [helper.make_tensor_value_info("logp", TensorProto.FLOAT, ["N", "V"])],
                    [helper.make_tensor_value_info("draws", TensorProto.INT64, ["N", 3]),
                     helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", "V"])],
                    [("", 15)])


def _one_class(rng, alt):
    n, v = (2, 5) if alt else (3, 9)
    x = np.full((n, v), -np.inf)
    x[np.arange(n), rng.integers(0, v, n)] = rng.standard_normal(n)
    return {"logp": x.astype(np.float32)}


def main(out):
    rng = np.random.default_rng(17)
    models = {"sampling_decode_op15": (sampling, u.SPECS["sampling_decode_op15"][2]),
              "multinomial_ops": (multinomial_ops, _one_class)}
    import onnx
    for name, (builder, gen) in models.items():
        p = os.path.join(out, name + ".onnx")
        onnx.save(builder(), p)
        data = "npz_u17_" + name
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, alt in enumerate((False, True)):
            feeds = gen(rng, alt)
            np.savez(os.path.join(out, data, f"s{i}.npz"), **feeds)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(p, feeds, 1))
        print(p, os.path.getsize(p))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
