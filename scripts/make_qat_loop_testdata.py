#!/usr/bin/python3
"""Makes testdata/models/torch_script_loops.onnx and torch_script_loops.json: a small
random-weight network scripted with torch.jit.script and written by torch.onnx
(PyTorch 1.13, opset 13) whose control flow exports as ONNX Loop and If nodes with
bodies that read activations and weights of the enclosing graph: a recurrence over
the time steps whose every state is appended to a Python list and stacked after
the loop (a Loop with a carried state and, once the graph optimizer has turned
the list into one, a scan output), a second loop whose trip count is the data's
width and whose body slices the input at the iteration number, and a
data-dependent branch (`if bool(y.sum() > 0)`: an If whose condition is computed
from an activation, both branches reading a weight).

The JSON holds a batch of 3 inputs, their labels, PyTorch's logits and PyTorch's
autograd gradients of the mean cross-entropy with respect to the input and to every
weight (by ONNX initializer name): qat's forward and backward passes on the
exported graph, back-propagation through the loops' iterations included, must
reproduce them (TestTorchScriptLoopGradients).

  /usr/bin/python3 scripts/make_qat_loop_testdata.py
"""
import json
import os

import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn


class Loops(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.Linear(6 + 8, 8)
        self.mix = nn.Linear(6, 8)
        self.gate = nn.Linear(8, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        # x: [N, 5, 6], 5 time steps of 6 features
        h = torch.zeros(x.size(0), 8)
        outs = []
        for t in range(x.size(1)):
            h = torch.tanh(self.cell(torch.cat([x[:, t], h], 1)))
            outs.append(h)
        y = torch.stack(outs, 1).mean(1)
        acc = torch.zeros(x.size(0), 8)
        for j in range(x.size(2)):
            acc = acc + torch.sigmoid(self.mix(x[:, :, j].repeat(1, 2)[:, :6])) * x[:, 0, j : j + 1]
        y = y + acc
        if bool(y.sum() > 0):
            y = torch.sigmoid(self.gate(y)) * y
        else:
            y = y - self.gate(y)
        return self.head(y)


def main():
    torch.manual_seed(0)
    m = Loops().eval()
    s = torch.jit.script(m)
    here = os.path.join(os.path.dirname(__file__), "..", "testdata", "models")
    path = os.path.join(here, "torch_script_loops.onnx")
    x = torch.randn(3, 5, 6)
    torch.onnx.export(s, x[:2], path, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    # the initializer names the exporter gave each parameter (same values)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    labels = [0, 3, 1]
    x.requires_grad_(True)
    y = m(x)
    torch.nn.functional.cross_entropy(y, torch.tensor(labels)).backward()
    grads = {}
    for pname, p in m.named_parameters():
        for iname, v in inits.items():
            if v.shape == tuple(p.shape) and torch.equal(torch.from_numpy(v.copy()), p.detach()):
                grads[iname] = p.grad.flatten().tolist()
    ref = {"torch": torch.__version__, "input_shape": list(x.shape), "labels": labels,
           "input": x.detach().flatten().tolist(), "logits": y.detach().flatten().tolist(),
           "input_grad": x.grad.flatten().tolist(), "param_grads": grads}
    with open(os.path.join(here, "torch_script_loops.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
