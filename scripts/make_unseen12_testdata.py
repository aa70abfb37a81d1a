#!/usr/bin/python3
"""Write the small test models of the seventeenth session's unseen12 triage
(docs/models.md, "Unseen families, set 12 (seventeenth session)") and their data:

    /usr/bin/python3 scripts/make_unseen12_testdata.py [OUTDIR]     (default testdata/exported)

- legacy_ops_op8.onnx: an onnx.helper graph (IR version 3, opset 8, every
  initializer also a graph input) of the experimental operators the ONNX model
  zoo's opset 7-9 files and old converters wrote: ImageScaler (per-channel bias),
  Scale, Affine, ScaledTanh, ParametricSoftplus, Crop with a border and with a
  scale, beside Conv; symbolic N. npz_legacy/s{0,1}.npz inputs, npz_legacy_ort/
  ONNX Runtime's outputs. Test: TestLegacyExperimentalOpsAsORT.
- gcn_index_add_op16.onnx: gcn_index_add_op16 of scripts/unseen12_models.py (a
  graph convolutional network: index_select, index_add_ as ScatterElements with
  reduction add, int64 edge_index, symbolic node and edge counts), exported with
  torch.onnx. npz_gcn/s{0,1}.npz hold the inputs as NumPy writes a transposed
  array, in Fortran order (edge_index is built as a concatenation of [2, E]
  blocks and saved with its leading axis added: np.save keeps its column-major
  layout); npz_gcn_ort/ ONNX Runtime's outputs. Tests: TestGCNIndexAddAsORT,
  and (bench/dataset) TestReadNPZFortranOrder.
Committed so that the tests need neither Python nor node.
"""
import os
import sys

import numpy as np
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import exportlib  # noqa: E402
import unseen12_models  # noqa: E402


def legacy_ops():
    rng = np.random.default_rng(12)
    n = helper.make_node
    nodes = [
        n("ImageScaler", ["x"], ["scaled"], scale=0.5, bias=[0.1, -0.2, 0.3]),
        n("Conv", ["scaled", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Scale", ["c"], ["sc"], scale=1.5),
        n("Affine", ["sc"], ["aff"], alpha=0.7, beta=-0.1),
        n("ScaledTanh", ["aff"], ["stanh"], alpha=1.2, beta=0.8),
        n("ParametricSoftplus", ["aff"], ["psp"], alpha=0.9, beta=1.4),
        n("Crop", ["stanh"], ["crop_border"], border=[1, 2, 0, 1]),
        n("Crop", ["psp"], ["crop_scale"], border=[2, 1, 0, 0], scale=[4, 3]),
    ]
    f = TensorProto.FLOAT
    w = (rng.standard_normal((4, 3, 3, 3)) * 0.4).astype(np.float32)
    ins = [helper.make_tensor_value_info("x", f, ["N", 3, 8, 7]), helper.make_tensor_value_info("w", f, [4, 3, 3, 3])]
    outs = [helper.make_tensor_value_info(o, f, None) for o in ("scaled", "stanh", "psp", "crop_border", "crop_scale")]
    g = helper.make_graph(nodes, "legacy", ins, outs, [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 8)], producer_name="onnx.helper")
    m.ir_version = 3
    return m


def gcn(path):
    import torch
    torch.manual_seed(0)
    m = unseen12_models.randomise_norms(unseen12_models.gcn()).eval()
    feeds = unseen12_models.graph_inputs(np.random.default_rng(5), False)
    exportlib.torch_export(m, [torch.from_numpy(v) for v in feeds.values()], path, 16, list(feeds),
                           ["graph_logits", "node_feat"],
                           {"x": {0: "nodes"}, "edge_index": {1: "edges"}, "batch": {0: "nodes"},
                            "node_feat": {0: "nodes"}})


def main(out):
    import onnx
    rng = np.random.default_rng(12)

    def write(model, data, samples, fortran=()):
        for d in (data, data + "_ort"):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for i, feeds in enumerate(samples):
            saved = {k: (np.asfortranarray(v) if k in fortran else v) for k, v in feeds.items()}
            for k in fortran:
                assert saved[k].flags.f_contiguous and not saved[k].flags.c_contiguous, k
            np.savez(os.path.join(out, data, f"s{i}.npz"), **saved)
            np.savez(os.path.join(out, data + "_ort", f"s{i}.npz"), **exportlib.ort_run(model, feeds))

    p = os.path.join(out, "legacy_ops_op8.onnx")
    onnx.save(legacy_ops(), p)
    write(p, "npz_legacy", [dict(x=rng.standard_normal((k, 3, 8, 7)).astype(np.float32)) for k in (1, 2)])
    p = os.path.join(out, "gcn_index_add_op16.onnx")
    gcn(p)
    write(p, "npz_gcn", [unseen12_models.graph_inputs(rng, alt) for alt in (False, True)],
          fortran=("x", "edge_index"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "testdata/exported")
