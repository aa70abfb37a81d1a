#!/usr/bin/python3
"""Which side is closer to the definition on the 4-bit models (docs/models.md,
"ONNX Runtime contrib attention ops (twenty-second session)"):

    /usr/bin/python3 scripts/ortc12_reference.py int4 OURS_IN.npz OURS_ALT.npz
        int4_blockwise_qdq_op21 (out/bench-models-unseen16): a float64 evaluation of
        the file (int4 blocks dequantized, MatMul, Add, Relu) against our float32
        outputs and ONNX Runtime's at "all" and at "disabled";
    /usr/bin/python3 scripts/ortc12_reference.py llama OURS_IN.npz OURS_ALT.npz
        ortgenai_int4_llama (out/bench-models-unseen15): ONNX Runtime on the file
        (MatMulNBits accuracy_level 4: A quantized to int8 per block) and on a copy
        with accuracy_level 0 (float A), against our outputs.
OURS_*.npz: `warboy run MODEL --input DIR/data/MODEL.{in,alt}.npz --output OURS_*.npz`.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402

OUT = os.environ.get("OUT", "out")


def sqnr(ref, x):
    return 10 * np.log10((ref ** 2).sum() / max(((ref - x) ** 2).sum(), 1e-300))


def _array(t):
    from onnx import numpy_helper
    if t.data_type in (21, 22):  # uint4, int4: two per byte, low first
        n = int(np.prod(t.dims))
        raw = np.frombuffer(t.raw_data, np.uint8)
        v = np.stack([raw & 15, raw >> 4], 1).reshape(-1)[:n].astype(np.int64)
        if t.data_type == 22:
            v = np.where(v >= 8, v - 16, v)
        return v.reshape(t.dims)
    return numpy_helper.to_array(t)


def eval64(m, feeds):
    """The MLP's operators in float64 (DequantizeLinear with block_size, MatMul, Add, Relu, Identity)."""
    import onnx
    e = {t.name: _array(t).astype(np.float64) for t in m.graph.initializer}
    e.update({k: v.astype(np.float64) for k, v in feeds.items()})
    for n in m.graph.node:
        i = [e[x] if x else None for x in n.input]
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        if n.op_type == "DequantizeLinear":
            x, s = i[0], i[1]
            z = i[2] if len(i) > 2 and i[2] is not None else np.zeros_like(s)
            ax, bs = a.get("axis", 1) % x.ndim, a.get("block_size", 0)
            if bs:
                s = np.repeat(s, bs, ax).take(range(x.shape[ax]), ax)
                z = np.repeat(z, bs, ax).take(range(x.shape[ax]), ax)
            y = (x - z) * s
        elif n.op_type == "MatMul":
            y = i[0] @ i[1]
        elif n.op_type == "Add":
            y = i[0] + i[1]
        elif n.op_type == "Relu":
            y = np.maximum(i[0], 0)
        elif n.op_type == "Identity":
            y = i[0]
        else:
            raise SystemExit("eval64: no %s" % n.op_type)
        e[n.output[0]] = y
    return {o.name: e[o.name] for o in m.graph.output}


def int4(ours_in, ours_alt):
    import onnx
    model = OUT + "/bench-models-unseen16/int4_blockwise_qdq_op21.onnx"
    m = onnx.load(model)
    for f, ours in (("in", ours_in), ("alt", ours_alt)):
        feeds = exportlib.fit_ranks(model, exportlib.load_feeds(f"{OUT}/bench-models-unseen16/data/int4_blockwise_qdq_op21.{f}.npz"))
        ref, o = eval64(m, feeds), dict(np.load(ours))
        f32 = {k: v.astype(np.float32) for k, v in feeds.items()}
        ort_all, ort_dis = exportlib.ort_run(model, f32, 1), exportlib.ort_run(model, f32, 1, "disabled")
        for k in ref:
            print(f"{f} {k}: from float64, ours {sqnr(ref[k], o[k].reshape(ref[k].shape)):.1f} dB, "
                  f"ORT all {sqnr(ref[k], ort_all[k]):.1f} dB, ORT disabled {sqnr(ref[k], ort_dis[k]):.1f} dB")


def llama(ours_in, ours_alt):
    import onnx
    import tempfile
    model = OUT + "/bench-models-unseen15/ortgenai_int4_llama.onnx"
    m = onnx.load(model)
    for n in m.graph.node:
        for a in n.attribute:
            if n.op_type == "MatMulNBits" and a.name == "accuracy_level":
                a.i = 0
    with tempfile.TemporaryDirectory() as td:
        acc0 = os.path.join(td, "acc0.onnx")
        onnx.save(m, acc0)
        for f, ours in (("in", ours_in), ("alt", ours_alt)):
            feeds = exportlib.fit_ranks(model, exportlib.load_feeds(f"{OUT}/bench-models-unseen15/data/ortgenai_int4_llama.{f}.npz"))
            o, a4, a0 = dict(np.load(ours)), exportlib.ort_run(model, feeds, 1), exportlib.ort_run(acc0, feeds, 1)
            for k in a4:
                x = o[k].reshape(a4[k].shape)
                print(f"{f} {k}: ours vs ORT (file, accuracy_level 4) {sqnr(a4[k], x):.1f} dB, ours vs ORT "
                      f"(accuracy_level 0) {sqnr(a0[k], x):.1f} dB, ORT 4 vs 0 {sqnr(a0[k], a4[k]):.1f} dB")


if __name__ == "__main__":
    {"int4": int4, "llama": llama}[sys.argv[1]](sys.argv[2], sys.argv[3])
