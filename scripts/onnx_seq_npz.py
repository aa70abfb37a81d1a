#!/usr/bin/env python3
"""ONNX test data (TensorProto / SequenceProto .pb files) as .npz in warboy's sequence
convention (docs/cli.md "Sequence inputs and outputs": a sequence NAME is the members
NAME.0, NAME.1, ..., NAME.empty when empty), and a check of `warboy run`'s output file
against the reference outputs. Needs /usr/bin/python3 with onnx and numpy.

    python3 scripts/onnx_seq_npz.py in  DIR in.npz     # DIR/test_data_set_0/input_*.pb -> in.npz
    python3 scripts/onnx_seq_npz.py check DIR out.npz  # out.npz against DIR/test_data_set_0/output_*.pb
"""
import onnx, numpy as np, sys, glob, os
from onnx import numpy_helper as nh
def load(path, vi):
    b = open(path, 'rb').read()
    if vi.type.HasField('sequence_type'):
        s = onnx.SequenceProto(); s.ParseFromString(b)
        return [nh.to_array(t) for t in s.tensor_values]
    t = onnx.TensorProto(); t.ParseFromString(b); return nh.to_array(t)
def spell(name, v, out):
    if isinstance(v, list):
        if not v: out[name + '.empty'] = np.zeros(0, np.float32)
        for k, e in enumerate(v): out[f'{name}.{k}'] = e
    else:
        out[name] = v
mode, d = sys.argv[1], sys.argv[2]
m = onnx.load(d + '/model.onnx')
if mode == 'in':
    out = {}
    for i, inp in enumerate(m.graph.input):
        if os.path.exists(f'{d}/test_data_set_0/input_{i}.pb'): spell(inp.name, load(f'{d}/test_data_set_0/input_{i}.pb', inp), out)
    np.savez(sys.argv[3], **out)
else:
    want = {}
    for i, o in enumerate(m.graph.output):
        spell(o.name, load(f'{d}/test_data_set_0/output_{i}.pb', o), want)
    got = np.load(sys.argv[3])
    ok = sorted(got.files) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)
    print(os.path.basename(d), 'equal' if ok else 'DIFFERENT', sorted(got.files))
