"""Shared pieces of the PyTorch Python references that the benchmarks compare against: a reader
for the safetensors files the engine writes, and the float CIFAR-style ResNet (option-B 1x1
shortcuts) with the engine's parameter paths (torchvision naming: conv1, bn1, layer1.0.conv1,
layer2.0.downsample.0, fc), so a Quantscape checkpoint loads into it with load_state_dict.

Only Debian's python3-torch is needed (no safetensors package).
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

_DTYPES = {
    "F32": torch.float32,
    "F64": torch.float64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path):
    """Returns (tensors: dict name -> tensor, metadata: dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    metadata = header.pop("__metadata__", {})
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        raw = bytearray(blob[base + begin:base + end])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    return tensors, metadata


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    """ResNet-(6n+2) for small images: widths 16, 32, 64, n blocks per stage."""

    def __init__(self, in_channels, num_classes, blocks_per_stage=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for stage, width in enumerate([16, 32, 64]):
            blocks = []
            for b in range(blocks_per_stage):
                blocks.append(BasicBlock(cin, width, 2 if (b == 0 and stage > 0) else 1))
                cin = width
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def load_resnet(checkpoint):
    """A float ResNet-20/32/44/56 from a Quantscape checkpoint, in eval mode. Quantizer tensors
    (a quantized checkpoint's step sizes) and optimizer state are ignored: this is the float
    network."""
    tensors, metadata = read_safetensors(checkpoint)
    spec = json.loads(metadata.get("spec", "{}"))
    arch = spec.get("model", {}).get("arch", "resnet20")
    depth = int(arch.replace("resnet", ""))
    weight = tensors["conv1.weight"]
    model = ResNet(weight.shape[1], tensors["fc.weight"].shape[0], (depth - 2) // 6)
    state = {k: v for k, v in tensors.items()
             if "quantizer" not in k and not k.startswith("optimizer/")}
    model.load_state_dict(state, strict=True)
    return model.eval()
