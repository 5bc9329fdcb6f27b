"""PyTorch peer of tools/bench/train.ts: one run of ResNet50 training steps.

torchvision is not installable here, so ResNet50 is written out below with the
layout of keras.applications.ResNet50 (v1, what ours and Keras' train): 7x7/2
stem after 3 px zero padding, 3x3/2 max pool after 1 px padding, bottleneck
blocks with the stride on the first 1x1 convolution, projection shortcut on
each stack's first block, biased convolutions, batch norm epsilon 1.001e-5 and
momentum 0.99 (PyTorch's momentum=0.01), global average pooling, a dense
softmax head. 23 classes, Adam(1e-3, eps 1e-7 as Keras), categorical
cross-entropy (softmax + NLL, computed from the logits as
`F.cross_entropy`), random images; warm-up steps, then the median of the timed
steps. `--channels-last` trains in PyTorch's channels_last memory format
(NHWC, as TensorFlow), else its default NCHW. Prints one JSON line (the Deno
worker's fields). Run by tools/bench.ts; by hand:
  .venv/bin/python tools/bench/torch_train.py --size 128 --steps 10 [--channels-last]
"""
import os
import time

import torch
from torch import nn
import torch.nn.functional as F

from step_result import print_result, step_args

BN_EPS = 1.001e-5
BN_MOMENTUM = 0.01  # Keras momentum 0.99: moving = 0.99 * moving + 0.01 * batch


def conv_bn(cin, cout, k, stride=1, padding=0):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=True),
        nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM),
    )


class Block(nn.Module):
    """Keras `residual_block_v1`: 1x1 (stride) -> 3x3 -> 1x1 (4x), + shortcut, ReLU."""

    def __init__(self, cin, filters, stride, conv_shortcut):
        super().__init__()
        self.shortcut = conv_bn(cin, 4 * filters, 1, stride) if conv_shortcut else None
        self.c1 = conv_bn(cin, filters, 1, stride)
        self.c2 = conv_bn(filters, filters, 3, 1, 1)  # "same" for an odd kernel at stride 1
        self.c3 = conv_bn(filters, 4 * filters, 1)

    def forward(self, x):
        s = self.shortcut(x) if self.shortcut is not None else x
        y = F.relu(self.c1(x))
        y = F.relu(self.c2(y))
        y = self.c3(y)
        return F.relu(s + y)


class ResNet50(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem = conv_bn(3, 64, 7, 2, 3)  # ZeroPadding2D(3) + valid 7x7/2
        layers, cin = [], 64
        for filters, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(blocks):
                layers.append(Block(cin, filters, stride if i == 0 else 1, i == 0))
                cin = 4 * filters
        self.stacks = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        # ZeroPadding2D(1) + MaxPool 3x3/2: zeros, not -inf, as Keras pads
        # (same result after a ReLU, whose outputs are >= 0).
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, 2)
        x = self.stacks(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)  # logits; the softmax is inside the loss


def main():
    p = step_args()
    p.add_argument("--channels-last", action="store_true")
    a = p.parse_args()

    torch.manual_seed(1)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = ResNet50(a.classes).to(memory_format=fmt)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand(a.batch, 3, a.size, a.size).contiguous(memory_format=fmt)
    y = torch.tensor([(i * 7) % a.classes for i in range(a.batch)])
    losses, times = [], []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        lv = loss.item()
        dt = time.perf_counter() - t0
        losses.append(lv)
        if i >= a.warmup:
            times.append(dt)
    print_result(
        "torch_cl" if a.channels_last else "torch",
        a,
        times,
        losses,
        f"PyTorch {torch.__version__}, "
        f"{'channels_last' if a.channels_last else 'NCHW'}, "
        f"{torch.get_num_threads()} threads, eager, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}",
    )


if __name__ == "__main__":
    main()
