#!/usr/bin/python3
"""Makes testdata/models/torch_cnn_blocks.onnx and torch_cnn_blocks.json: a small
random-weight network written by torch.onnx (PyTorch 1.13, opset 13) that strings
together the blocks of common torchvision CNNs, as the exporter writes them:
normalisation inside the model (Sub/Div), Hardswish and a squeeze-and-excitation
gate with Hardsigmoid (MobileNetV3), MaxPool with ceil_mode (GoogLeNet, SqueezeNet),
torch.chunk and the channel shuffle x.view(b, g, c // g, h, w).transpose(1, 2) with
its x.size() shape arithmetic (ShuffleNetV2), a pre-activation BN-ReLU-Conv dense
layer with torch.cat (DenseNet), a zero pad, nearest upsampling, Tanh, a channel
Softmax gate, x.mean([2, 3]) and x.view(x.size(0), -1).

The JSON holds a batch of 4 inputs, their labels, PyTorch's logits (eval mode) and
PyTorch's autograd gradient of the mean cross-entropy with respect to the input:
qat's forward and backward passes on the exported graph must reproduce them
(TestTorchReferenceGradients).

  /usr/bin/python3 scripts/make_qat_ops_testdata.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.stem_bn = nn.BatchNorm2d(8)
        self.se1 = nn.Conv2d(8, 4, 1)
        self.se2 = nn.Conv2d(4, 8, 1)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # 14 -> 7
        self.b1 = nn.Conv2d(4, 4, 1)
        self.b2 = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.b2_bn = nn.BatchNorm2d(4)
        self.dense_bn = nn.BatchNorm2d(8)
        self.dense = nn.Conv2d(8, 4, 3, padding=1)
        self.down = nn.Conv2d(12, 12, 3, stride=2)  # 8x8 padded -> 3x3
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.gate = nn.Conv2d(12, 12, 1)
        self.fc = nn.Linear(12 * 6 * 6, 10)
        for bn in (self.stem_bn, self.b2_bn, self.dense_bn):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
            bn.weight.data.uniform_(0.8, 1.2)
            bn.bias.data.uniform_(-0.1, 0.1)

    def forward(self, x):
        x = (x - 0.286) / 0.353
        x = F.hardswish(self.stem_bn(self.stem(x)))
        s = F.hardsigmoid(self.se2(F.relu(self.se1(x.mean([2, 3], keepdim=True)))))
        x = self.pool(x * s)
        a, b = x.chunk(2, dim=1)
        b = F.relu(self.b2_bn(self.b2(F.relu(self.b1(b)))))
        x = torch.cat([a, b], 1)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
        x = torch.cat([x, self.dense(F.relu(self.dense_bn(x)))], 1)
        x = torch.tanh(self.down(F.pad(x, (0, 1, 0, 1))))
        x = self.up(x)
        x = x * torch.softmax(self.gate(x), dim=1)
        return self.fc(x.view(x.size(0), -1))


def main():
    torch.manual_seed(0)
    m = Blocks().eval()
    here = os.path.join(os.path.dirname(__file__), "..", "testdata", "models")
    x = torch.rand(4, 1, 28, 28)
    torch.onnx.export(m, x[:1], os.path.join(here, "torch_cnn_blocks.onnx"), opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    labels = [0, 3, 7, 9]
    x.requires_grad_(True)
    y = m(x)
    F.cross_entropy(y, torch.tensor(labels)).backward()
    ref = {"torch": torch.__version__, "input_shape": list(x.shape), "labels": labels,
           "input": x.detach().flatten().tolist(), "logits": y.detach().flatten().tolist(),
           "input_grad": x.grad.flatten().tolist()}
    with open(os.path.join(here, "torch_cnn_blocks.json"), "w") as f:
        json.dump(ref, f)


if __name__ == "__main__":
    main()
