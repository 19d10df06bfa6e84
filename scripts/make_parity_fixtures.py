#!/usr/bin/python3
"""Parity fixtures from the reference implementation (Debian's python3-torchvision).

For every variant B0-B7: seeded random weights with randomised batch-norm affine parameters and running statistics,
saved with torch.save (zip format, torchvision key names), plus an input batch and the eval-mode logits and pooled
features. B0 runs at its native 224 px; the others at reduced resolutions to keep the tests fast.

Why the statistics are calibrated, not drawn: with freshly initialised convolutions and running statistics drawn at
random, each batch norm's output is dominated by its running mean and the logits stop depending on the input at all
(measured: 3.6e-7 change for a different input), so a wrong padding or kernel would go unnoticed. Instead the running
statistics are measured on a batch of structured random images, then perturbed (variance x U(0.8, 1.25), mean shifted
by 0.1 standard deviations), and the residual branches' last batch-norm scale is drawn small (U(0.2, 0.5)) as in
trained networks, so that signal flows through all 55 blocks of B7. The inputs are smooth random fields plus noise,
not white noise, so a one-pixel shift (SAME vs symmetric padding) changes the output by thousands of tolerances.

Checkpoints in the other naming schemes, whose reference logits come from TensorFlow-"SAME"-padded convolutions and the
batch-norm eps of their source (docs/WEIGHTS.md):
  b0.lukemelas.pth            lukemelas names, SAME padding, eps 1e-3, no num_batches_tracked (like the released files)
  b0.lukemelas.safetensors    the same tensors as safetensors (the two readers must agree bit for bit)
  tf_efficientnet_b3.safetensors      timm tf_efficientnet names, SAME padding, eps 1e-3
  b1.timm.pth                 timm efficientnet names, symmetric padding, eps 1e-5
EfficientNetV2-S/M/L (torchvision's efficientnet_v2_*, eps 1e-3, Fused-MBConv stages) at reduced resolutions, one
torchvision .pth each (V2-L alone is 474 MB, so no second naming scheme); the script asserts that a batch-norm eps of
1e-5 instead of 1e-3, or a residual Fused-MBConv block left out, moves the logits by thousands of tolerances.
EfficientNet-Lite (no torchvision model and no timm here): a PyTorch reference built from timm's _gen_efficientnet_lite
with timm's module names (B0's stages without squeeze-and-excitation, ReLU6, stem 32 and head 1280 at every width, first
and last stages not deepened); its parameter counts must round to the published 4.65/5.42/6.09/8.20/13.01 M, and the
script asserts that ReLU instead of ReLU6 or one stray squeeze-and-excitation moves the logits by hundreds of
tolerances. lite0.timm.pth (efficientnet_lite0: symmetric padding, eps 1e-5) and tf_efficientnet_lite3.safetensors
(SAME padding, eps 1e-3), each with its io file, at reduced resolutions.
And legacy.pth, a checkpoint in torch's pre-1.6 (non-zip) serialisation, which the importer must reject clearly.

images/: JPEG and PNG test images (smooth random scenes with shapes, various sizes and aspect ratios) in two class
folders, hostile files (empty, random bytes, text named .jpg, truncated JPEG), and images.io.safetensors with
torchvision's Resize(256, bicubic) + CenterCrop(224) of each good image as 0-255 planar RGB, to measure how closely
ML.NET's resize follows torchvision's. images-large/: five photo-sized JPEGs (4032x3024, 1536x2048, 2000x1500, 500x375, 1024x768) with
texture at several scales and images-large.io.safetensors (the same torchvision crop), for reduced-scale JPEG decoding.
images-oracle/: three scenes (smooth fields at several scales with hard-edged shapes placed asymmetrically) and
b0.images-oracle.safetensors, B0's answer to each file through torchvision's own evaluation pipeline, written out here
with the ImageNet constants as literals (PIL open, Resize(256, bicubic), CenterCrop(224), ToTensor, Normalize): the
pooled features, the features again with one constant mistyped (mean G 0.465, std G 0.242), the class activation map
sum_k W[c, k] F[k, i, j] + b[c] of three classes on the pre-pool map F, and those classes. exact_340x256.png and
exact_256x340.jpg have a shorter side of 256 and even margins, so neither pipeline resamples and both crop the same
pixels (the bound on the constants); resized_500x375.jpg goes through the bicubic resize (the bound on resampling).

Usage: make_parity_fixtures.py OUTPUT_DIR
"""
import json, math, os, struct, sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

torch.set_num_threads(2)
OUT = sys.argv[1]
BATCH = 2
# Reduced resolutions: even sizes so the SAME-padding cases differ from symmetric padding, varied to cover odd maps.
RESOLUTIONS = {"b0": 224, "b1": 96, "b2": 80, "b3": 96, "b4": 64, "b5": 72, "b6": 64, "b7": 64}
V2_RESOLUTIONS = {"v2_s": 96, "v2_m": 80, "v2_l": 64}
HERE = os.path.dirname(os.path.abspath(__file__))


def images(n, resolution, seed):
    """Structured random images: a bicubic-upsampled 6x6 random field plus fine noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n, 3, 6, 6, generator=g)
    x = F.interpolate(coarse, size=(resolution, resolution), mode="bicubic", align_corners=False)
    return x + 0.2 * torch.randn(n, 3, resolution, resolution, generator=g)


def randomise_layers(model, seed, bn_scale=(0.5, 1.5), bn_shift=(0.0, 0.1)):
    """Seeded weights: convolutions as torchvision initialises them, batch-norm scales uniform in bn_scale and shifts
    normal with bn_shift's (mean, std)."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, *bn_scale)
            nn.init.normal_(m.bias, *bn_shift)
        elif isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -0.05, 0.05)
            nn.init.normal_(m.bias, 0.0, 0.1)


def randomise(model, seed):
    """Seeded weights with random batch-norm affine parameters; residual branches end in small scales."""
    randomise_layers(model, seed)
    for block in model.modules():
        if isinstance(block, (torchvision.models.efficientnet.MBConv, torchvision.models.efficientnet.FusedMBConv)) and block.use_res_connect:
            nn.init.uniform_(block.block[-1][1].weight, 0.2, 0.5)
    return model.eval()


def calibrate(model, resolution, seed):
    """Running statistics measured on structured images, then perturbed; see the module docstring for why."""
    g = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one batch gives exactly its statistics
        m.train()
    with torch.no_grad():
        model(images(16, resolution, seed))
    model.eval()
    for m in norms:
        m.momentum = 0.1
        m.running_var.clamp_(min=0.1 * m.running_var.mean().item())
        m.running_var.mul_(torch.empty(m.running_var.shape).uniform_(0.8, 1.25, generator=g))
        m.running_mean.add_(0.1 * m.running_var.sqrt() * torch.randn(m.running_mean.shape, generator=g))
        m.num_batches_tracked.fill_(int(torch.randint(1, 10000, (), generator=g)))
    return model


class Conv2dSame(nn.Conv2d):
    """TensorFlow 'SAME' padding computed from the input size: the odd pixel goes after, as in TF-trained weights."""

    def forward(self, x):
        pads = []
        for size, k, s in ((x.shape[-1], self.kernel_size[1], self.stride[1]), (x.shape[-2], self.kernel_size[0], self.stride[0])):
            out = (size + s - 1) // s
            total = max((out - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def tensorflow_style(model, eps):
    """The same network computed as the TF ports do: SAME padding everywhere and the source's batch-norm eps."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.__class__ = Conv2dSame
        elif isinstance(m, nn.BatchNorm2d):
            m.eps = eps
    return model


def rename(key, scheme):
    """torchvision key -> lukemelas or timm key, derived from torchvision's module structure."""
    if scheme == "torchvision":
        return key
    parts = key.split(".")
    luke, timm = scheme == "lukemelas", scheme.startswith("timm")
    bn_names = {"lukemelas": ["_bn0", "_bn1"], "timm": ["bn1", "bn2"]}
    if parts[0] == "classifier":
        return ("_fc." if luke else "classifier.") + parts[-1]
    index = int(parts[1])
    head = index == HEAD_INDEX
    if index == 0 or head:
        unit = int(parts[2])  # 0 = conv, 1 = bn
        if unit == 0:
            return ("_conv_stem" if index == 0 else "_conv_head") + ".weight" if luke else ("conv_stem" if index == 0 else "conv_head") + ".weight"
        bn = (bn_names["lukemelas"] if luke else bn_names["timm"])[0 if index == 0 else 1]
        return bn + "." + parts[-1]
    stage, j, layer = index - 1, int(parts[2]), int(parts[4])
    expanded = BLOCK_EXPANDS[(stage, j)]
    role = (["expand", "dw", "se", "project"] if expanded else ["dw", "se", "project"])[layer]
    tail = parts[5:]
    if luke:
        prefix = "_blocks.%d." % FLAT_INDEX[(stage, j)]
        if role == "se":
            return prefix + ("_se_reduce." if tail[0] == "fc1" else "_se_expand.") + tail[1]
        conv, bn = {"expand": ("_expand_conv", "_bn0"), "dw": ("_depthwise_conv", "_bn1"), "project": ("_project_conv", "_bn2")}[role]
    else:
        prefix = "blocks.%d.%d." % (stage, j)
        if role == "se":
            return prefix + ("se.conv_reduce." if tail[0] == "fc1" else "se.conv_expand.") + tail[1]
        if expanded:
            conv, bn = {"expand": ("conv_pw", "bn1"), "dw": ("conv_dw", "bn2"), "project": ("conv_pwl", "bn3")}[role]
        else:
            conv, bn = {"dw": ("conv_dw", "bn1"), "project": ("conv_pw", "bn2")}[role]
    return prefix + (conv + ".weight" if tail[0] == "0" else bn + "." + tail[-1])


def index_blocks(model):
    global HEAD_INDEX, BLOCK_EXPANDS, FLAT_INDEX
    HEAD_INDEX = len(model.features) - 1
    BLOCK_EXPANDS, FLAT_INDEX, flat = {}, {}, 0
    for s in range(1, HEAD_INDEX):
        for j, block in enumerate(model.features[s]):
            BLOCK_EXPANDS[(s - 1, j)] = len(block.block) == 4
            FLAT_INDEX[(s - 1, j)] = flat
            flat += 1


def save_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header, raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def check_sensitive(model, resolution, seed):
    """The fixture must be able to fail: its logits must depend on the input (see the module docstring)."""
    with torch.no_grad():
        a, b = model(images(BATCH, resolution, seed + 1)), model(images(BATCH, resolution, seed + 2))
    assert torch.isfinite(a).all() and a.abs().max() < 100, "activations exploded"
    tolerance = 1e-4 * a.abs().max() + 1e-5
    assert (a - b).abs().max() > 1000 * tolerance, "logits do not depend on the input"


def reference_outputs(model, resolution, seed):
    check_sensitive(model, resolution, seed)
    x = images(BATCH, resolution, seed + 1)
    with torch.no_grad():
        features = torch.flatten(model.avgpool(model.features(x)), 1)
        logits = model.classifier(features)
    return {"input": x, "logits": logits, "features": features}


def check_v2_sensitive(model, resolution, seed):
    """A wrong eps (1e-5, the B-series default) or a missing Fused-MBConv block must fail the V2 fixture by a wide margin."""
    import copy
    x = images(BATCH, resolution, seed + 1)
    with torch.no_grad():
        reference = model(x)
        tolerance = 1e-4 * reference.abs().max() + 1e-5
        wrong_eps = copy.deepcopy(model)
        for m in wrong_eps.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = 1e-5
        # Leave out the last block of stage 2, a residual Fused-MBConv (stride 1, equal widths), so the shapes still fit.
        missing = copy.deepcopy(model)
        assert isinstance(missing.features[2][-1], torchvision.models.efficientnet.FusedMBConv) and missing.features[2][-1].use_res_connect
        missing.features[2] = nn.Sequential(*list(missing.features[2])[:-1])
        for name, broken in (("eps 1e-5", wrong_eps(x)), ("no fused block", missing(x))):
            delta = (broken - reference).abs().max()
            assert delta > 100 * tolerance, f"{name}: logits moved only {delta:.3g} (tolerance {tolerance:.3g})"
            print(f"  {name}: max |delta| {delta:.3g} = {delta / tolerance:.0f} tolerances", flush=True)


def check_against_reference_key_table(model):
    """The renaming above must reproduce tests/fixtures/b0-keys.txt, the reference B0 key listing (docs/WEIGHTS.md)."""
    rows = [line.split() for line in open(os.path.join(HERE, "..", "tests", "fixtures", "b0-keys.txt")) if not line.startswith("#")]
    for tv, luke, timm, *_ in rows:
        assert rename(tv, "lukemelas") == luke, (tv, rename(tv, "lukemelas"), luke)
        assert rename(tv, "timm") == timm, (tv, rename(tv, "timm"), timm)
    assert [r[0] for r in rows] == list(model.state_dict().keys())


# EfficientNet-Lite as timm's _gen_efficientnet_lite builds it: (kind, repeats, kernel, stride, expand, channels) per stage.
LITE_ARCH = [("ds", 1, 3, 1, 1, 16), ("ir", 2, 3, 2, 6, 24), ("ir", 2, 5, 2, 6, 40), ("ir", 3, 3, 2, 6, 80),
             ("ir", 3, 5, 1, 6, 112), ("ir", 4, 5, 2, 6, 192), ("ir", 1, 3, 1, 6, 320)]
LITE_MULTIPLIERS = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2), "lite3": (1.2, 1.4), "lite4": (1.4, 1.8)}
LITE_PUBLISHED_MILLIONS = {"lite0": 4.65, "lite1": 5.42, "lite2": 6.09, "lite3": 8.20, "lite4": 13.01}


def round_channels(channels, multiplier, divisor=8):
    """timm's round_channels / make_divisible (round_limit 0.9)."""
    channels *= multiplier
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


def conv(cin, cout, k, stride=1, groups=1):
    return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)


class LiteSqueezeExcite(nn.Module):
    """A stray squeeze-and-excitation (timm's SqueezeExcite), only to show the fixture notices one."""

    def __init__(self, channels, act):
        super().__init__()
        self.conv_reduce, self.act, self.conv_expand = nn.Conv2d(channels, max(1, channels // 4), 1), act(), nn.Conv2d(max(1, channels // 4), channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv_expand(self.act(self.conv_reduce(x.mean((2, 3), keepdim=True)))))


class LiteBlock(nn.Module):
    """timm's DepthwiseSeparableConv (ds: conv_dw, bn1, conv_pw, bn2) or InvertedResidual (ir: conv_pw, bn1, conv_dw,
    bn2, conv_pwl, bn3), without squeeze-and-excitation; skip when stride 1 and equal widths."""

    def __init__(self, kind, cin, cout, k, stride, expand, act, stray_se=False):
        super().__init__()
        self.kind, self.act, self.skip = kind, act(), stride == 1 and cin == cout
        mid = cin * expand
        if kind == "ds":
            self.conv_dw, self.bn1, self.conv_pw, self.bn2 = conv(cin, cin, k, stride, cin), nn.BatchNorm2d(cin), conv(cin, cout, 1), nn.BatchNorm2d(cout)
        else:
            self.conv_pw, self.bn1 = conv(cin, mid, 1), nn.BatchNorm2d(mid)
            self.conv_dw, self.bn2 = conv(mid, mid, k, stride, mid), nn.BatchNorm2d(mid)
            self.conv_pwl, self.bn3 = conv(mid, cout, 1), nn.BatchNorm2d(cout)
        self.se = LiteSqueezeExcite(cin if kind == "ds" else mid, act) if stray_se else nn.Identity()

    def forward(self, x):
        if self.kind == "ds":
            y = self.bn2(self.conv_pw(self.se(self.act(self.bn1(self.conv_dw(x))))))
        else:
            y = self.act(self.bn2(self.conv_dw(self.act(self.bn1(self.conv_pw(x))))))
            y = self.bn3(self.conv_pwl(self.se(y)))
        return y + x if self.skip else y


class Lite(nn.Module):
    """timm's EfficientNet for _gen_efficientnet_lite: fix_stem (32), num_features 1280, fix_first_last, ReLU6."""

    def __init__(self, name, num_classes=1000, act=nn.ReLU6, stray_se=False, scaled_stem=False):
        super().__init__()
        width, depth = LITE_MULTIPLIERS[name]
        self.act = act()
        stem = round_channels(32, width) if scaled_stem else 32
        self.conv_stem, self.bn1 = conv(3, stem, 3, 2), nn.BatchNorm2d(stem)
        stages, cin = [], stem
        for i, (kind, repeats, k, stride, expand, channels) in enumerate(LITE_ARCH):
            n = repeats if i in (0, len(LITE_ARCH) - 1) else math.ceil(repeats * depth)
            cout, blocks = round_channels(channels, width), []
            for j in range(n):
                blocks.append(LiteBlock(kind, cin, cout, k, stride if j == 0 else 1, expand, act, stray_se and i == 3 and j == 1))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head, self.bn2 = conv(cin, 1280, 1), nn.BatchNorm2d(1280)
        self.classifier = nn.Linear(1280, num_classes)

    def features(self, x):
        x = self.act(self.bn1(self.conv_stem(x)))
        return self.act(self.bn2(self.conv_head(self.blocks(x))))

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def randomise_lite(model, seed):
    """As randomise(), with batch-norm scales large enough that some activations pass 6, so ReLU6's cap matters."""
    randomise_layers(model, seed, bn_scale=(1.0, 3.0), bn_shift=(0.5, 1.0))
    for block in model.modules():
        if isinstance(block, LiteBlock) and block.skip:
            last = block.bn2 if block.kind == "ds" else block.bn3
            nn.init.uniform_(last.weight, 0.2, 0.5)
            nn.init.normal_(last.bias, 0.0, 0.1)
    return model.eval()


def lite_reference_outputs(model, resolution, seed):
    check_sensitive(model, resolution, seed)
    x = images(BATCH, resolution, seed + 1)
    with torch.no_grad():
        features = model.features(x).mean((2, 3))
        logits = model.classifier(features)
    return {"input": x, "logits": logits, "features": features}


def check_lite(name, model, resolution, seed):
    """Parameter counts against the published ones; ReLU for ReLU6 and a stray SE must move the logits widely."""
    for variant, millions in LITE_PUBLISHED_MILLIONS.items():
        count = sum(p.numel() for p in Lite(variant).parameters())
        assert round(count / 1e6, 2) == millions, (variant, count, millions)
        # A stem scaled with width (as in the B series) would change the count wherever the rounding moves it.
        assert sum(p.numel() for p in Lite(variant, scaled_stem=True).parameters()) != count or round_channels(32, LITE_MULTIPLIERS[variant][0]) == 32
    x = images(BATCH, resolution, seed + 1)
    with torch.no_grad():
        reference = model(x)
        tolerance = 1e-4 * reference.abs().max() + 1e-5
        relu = Lite(name, act=nn.ReLU)
        relu.load_state_dict(model.state_dict())
        relu.eval()
        stray = Lite(name, stray_se=True)
        stray.load_state_dict(model.state_dict(), strict=False)
        stray.eval()
        if any(isinstance(m, Conv2dSame) for m in model.modules()):
            tensorflow_style(relu, model.bn1.eps)
            tensorflow_style(stray, model.bn1.eps)
        for label, broken in (("ReLU instead of ReLU6", relu(x)), ("a stray squeeze-and-excitation", stray(x))):
            delta = (broken - reference).abs().max()
            assert delta > 100 * tolerance, f"{label}: logits moved only {delta:.3g} (tolerance {tolerance:.3g})"
            print(f"  {name} {label}: max |delta| {delta:.3g} = {delta / tolerance:.0f} tolerances", flush=True)


def torchvision_crop(path):
    """torchvision's evaluation preprocessing of B0, Resize(256, bicubic) + CenterCrop(224), as 0-255 planar RGB floats."""
    import numpy as np
    from PIL import Image
    from torchvision import transforms
    crop = transforms.Compose([transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC), transforms.CenterCrop(224)])
    return torch.from_numpy(np.asarray(crop(Image.open(path).convert("RGB"))).astype("float32")).permute(2, 0, 1).contiguous()


def make_images():
    """Deterministic test images; see the module docstring."""
    import numpy as np
    from PIL import Image, ImageDraw
    root = os.path.join(OUT, "images")
    rng = np.random.default_rng(42)
    sizes = [(500, 375), (375, 500), (640, 480), (300, 300), (1024, 683), (257, 129)]
    reference = {}
    for i in range(12):
        label = "round" if i % 2 == 0 else "square"
        w, h = sizes[i % len(sizes)]
        field = torch.from_numpy(rng.normal(size=(1, 3, 5, 7)).astype("float32"))
        base = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)[0]
        pixels = ((base * 40 + 128).clamp(0, 255)).permute(1, 2, 0).numpy().astype("uint8")
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(min(w, h) // 10, min(w, h) // 3))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if label == "round" else draw.rectangle)([x - r, y - r, x + r, y + r], fill=colour)
        folder = os.path.join(root, label)
        os.makedirs(folder, exist_ok=True)
        name = "%s_%02d.%s" % (label, i, "png" if i % 5 == 4 else "jpg")
        image.save(os.path.join(folder, name), quality=92)
        reference[label + "/" + name] = torchvision_crop(os.path.join(folder, name))
    save_safetensors(os.path.join(OUT, "images.io.safetensors"), reference)
    bad = os.path.join(root, "bad")
    os.makedirs(bad, exist_ok=True)
    open(os.path.join(bad, "empty.jpg"), "wb").close()
    with open(os.path.join(bad, "random.jpg"), "wb") as f:
        f.write(rng.integers(0, 256, 4096).astype("uint8").tobytes())
    with open(os.path.join(bad, "text.jpg"), "w") as f:
        f.write("this is not an image\n")
    good = open(os.path.join(root, "round", "round_00.jpg"), "rb").read()
    with open(os.path.join(bad, "truncated.jpg"), "wb") as f:
        f.write(good[: len(good) // 3])


def make_large_images():
    """Photo-sized JPEGs (phone camera, portrait, web upload) with texture at every scale, for reduced-scale decoding."""
    import numpy as np
    from PIL import Image
    root = os.path.join(OUT, "images-large")
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(7)
    reference = {}
    for i, (w, h) in enumerate([(4032, 3024), (1536, 2048), (2000, 1500), (500, 375), (1024, 768)]):
        x = torch.zeros(3, h, w)
        for cells, amplitude in ((6, 45.0), (40, 20.0), (300, 10.0)):
            field = torch.from_numpy(rng.normal(size=(1, 3, cells, cells * w // h)).astype("float32"))
            x += amplitude * F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)[0]
        x += torch.from_numpy(rng.normal(scale=4.0, size=(3, h, w)).astype("float32"))
        image = Image.fromarray((x + 128).clamp(0, 255).permute(1, 2, 0).numpy().astype("uint8"))
        name = "photo_%d.jpg" % i
        image.save(os.path.join(root, name), quality=90)
        reference[name] = torchvision_crop(os.path.join(root, name))
    save_safetensors(os.path.join(OUT, "images-large.io.safetensors"), reference)


def make_oracle_images(model):
    """Image files and B0's features and class activation maps for them, through torchvision's own pipeline."""
    import numpy as np
    from PIL import Image, ImageDraw
    from torchvision import transforms as T
    root = os.path.join(OUT, "images-oracle")
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(11)

    def pipeline(mean, std):
        return T.Compose([T.Resize(256, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])

    # ImageNet's statistics, typed here rather than read from the code under test, and two single-character typos of them.
    references = {
        "features": pipeline([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        "features_mean_g_0.465": pipeline([0.485, 0.465, 0.406], [0.229, 0.224, 0.225]),
        "features_std_g_0.242": pipeline([0.485, 0.456, 0.406], [0.229, 0.242, 0.225]),
    }
    out = {}
    for name, (w, h) in (("exact_340x256.png", (340, 256)), ("exact_256x340.jpg", (256, 340)), ("resized_500x375.jpg", (500, 375))):
        x = torch.zeros(3, h, w)
        for cells, amplitude in ((3, 50.0), (8, 25.0), (20, 10.0)):
            field = torch.from_numpy(rng.normal(size=(1, 3, cells, cells)).astype("float32"))
            x += amplitude * F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)[0]
        image = Image.fromarray((x + 128).clamp(0, 255).permute(1, 2, 0).numpy().astype("uint8"))
        draw = ImageDraw.Draw(image)
        # A disc up and to the left, a bar down and to the right: no symmetry maps the scene onto itself.
        draw.ellipse([w // 6, h // 8, w // 2, h // 2], fill=(230, 60, 40))
        draw.rectangle([w // 2, h * 5 // 8, w - w // 10, h - h // 12], fill=(30, 80, 220))
        path = os.path.join(root, name)
        image.save(path, quality=92)
        with torch.no_grad():
            for key, pipe in references.items():
                feature_map = model.features(pipe(Image.open(path).convert("RGB"))[None])
                out[name + "/" + key] = torch.flatten(model.avgpool(feature_map), 1)[0]
                if key == "features":
                    logits = model.classifier(out[name + "/" + key][None])[0]
                    classes = torch.tensor([int(logits.argmax()), 0, 999])
                    weight, bias = model.classifier[1].weight, model.classifier[1].bias
                    out[name + "/cam"] = torch.einsum("ck,kij->cij", weight[classes], feature_map[0]) + bias[classes][:, None, None]
                    out[name + "/cam_classes"] = classes
                    assert torch.allclose(out[name + "/cam"].mean((1, 2)), logits[classes], atol=1e-5), "the map's mean is the logit"
    save_safetensors(os.path.join(OUT, "b0.images-oracle.safetensors"), out)


def make_schedules():
    """PyTorch's OneCycleLR (as the Fashion-MNIST anchor uses it) and AdamW/SGD steps, for the training tests."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=3e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=100, pct_start=0.15)
    lrs, betas = [], []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        betas.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    with open(os.path.join(OUT, "schedules.json"), "w") as f:
        json.dump({"one_cycle": {"max_lr": 3e-3, "total_steps": 100, "pct_start": 0.15, "lr": lrs, "beta1": betas}}, f)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_images()
    make_large_images()
    make_schedules()
    manifest = []

    def case(variant, fmt, weights, io, resolution):
        manifest.append({"variant": variant, "format": fmt, "weights": weights, "io": io, "resolution": resolution})

    for i, (name, resolution) in enumerate(RESOLUTIONS.items()):
        seed = 1000 + i
        build = getattr(torchvision.models, "efficientnet_" + name)
        model = calibrate(randomise(build(), seed), resolution, seed + 100)
        index_blocks(model)
        if name == "b0":
            check_against_reference_key_table(model)
            make_oracle_images(model)
        torch.save(model.state_dict(), os.path.join(OUT, name + ".torchvision.pth"))
        save_safetensors(os.path.join(OUT, name + ".torchvision.io.safetensors"), reference_outputs(model, resolution, seed))
        case(name, "torchvision", name + ".torchvision.pth", name + ".torchvision.io.safetensors", resolution)

        if name == "b1":
            # timm efficientnet_b1: same conventions as torchvision B1 (symmetric padding, eps 1e-5), timm names.
            torch.save({rename(k, "timm"): v for k, v in model.state_dict().items()}, os.path.join(OUT, "b1.timm.pth"))
            save_safetensors(os.path.join(OUT, "b1.timm.io.safetensors"), reference_outputs(model, resolution, seed))
            case(name, "timm", "b1.timm.pth", "b1.timm.io.safetensors", resolution)

        # TensorFlow ports: the network computed with SAME padding and eps 1e-3, calibrated as such.
        if name in ("b0", "b3"):
            tf_model = calibrate(tensorflow_style(randomise(build(), seed + 50), 1e-3), resolution, seed + 150)
            io = reference_outputs(tf_model, resolution, seed + 50)
            if name == "b0":
                sd = {rename(k, "lukemelas"): v for k, v in tf_model.state_dict().items() if not k.endswith("num_batches_tracked")}
                torch.save(sd, os.path.join(OUT, "b0.lukemelas.pth"))
                save_safetensors(os.path.join(OUT, "b0.lukemelas.safetensors"), sd)
                save_safetensors(os.path.join(OUT, "b0.lukemelas.io.safetensors"), io)
                case(name, "lukemelas", "b0.lukemelas.pth", "b0.lukemelas.io.safetensors", resolution)
            else:
                sd = {rename(k, "timm"): v for k, v in tf_model.state_dict().items()}
                save_safetensors(os.path.join(OUT, "tf_efficientnet_b3.safetensors"), sd)
                save_safetensors(os.path.join(OUT, "tf_efficientnet_b3.io.safetensors"), io)
                case(name, "timm-tf", "tf_efficientnet_b3.safetensors", "tf_efficientnet_b3.io.safetensors", resolution)
        print("fixtures for", name, "at", resolution, "px", flush=True)

    for i, (name, resolution) in enumerate(V2_RESOLUTIONS.items()):
        seed = 2000 + i
        build = getattr(torchvision.models, "efficientnet_" + name)
        model = calibrate(randomise(build(), seed), resolution, seed + 100)
        assert model.features[1][0].block[0][1].eps == 1e-3
        check_v2_sensitive(model, resolution, seed)
        variant = name.replace("_", "-")
        torch.save(model.state_dict(), os.path.join(OUT, variant + ".torchvision.pth"))
        save_safetensors(os.path.join(OUT, variant + ".torchvision.io.safetensors"), reference_outputs(model, resolution, seed))
        case(variant, "torchvision", variant + ".torchvision.pth", variant + ".torchvision.io.safetensors", resolution)
        print("fixtures for", variant, "at", resolution, "px,", sum(p.numel() for p in model.parameters()), "parameters", flush=True)

    # EfficientNet-Lite: timm's efficientnet_lite0 (symmetric padding, eps 1e-5) and tf_efficientnet_lite3 (SAME, eps 1e-3).
    for name, fmt, resolution, seed in (("lite0", "timm", 96, 3000), ("lite3", "timm-tf", 80, 3001)):
        model = randomise_lite(Lite(name), seed)
        if fmt == "timm-tf":
            tensorflow_style(model, 1e-3)
        model = calibrate(model, resolution, seed + 100)
        check_lite(name, model, resolution, seed)
        io = lite_reference_outputs(model, resolution, seed)
        if fmt == "timm":
            weights = name + ".timm.pth"
            torch.save(model.state_dict(), os.path.join(OUT, weights))
        else:
            weights = "tf_efficientnet_" + name + ".safetensors"
            save_safetensors(os.path.join(OUT, weights), model.state_dict())
        io_file = weights.rsplit(".", 1)[0] + ".io.safetensors"
        save_safetensors(os.path.join(OUT, io_file), io)
        case(name, fmt, weights, io_file, resolution)
        print("fixtures for", name, fmt, "at", resolution, "px,", sum(p.numel() for p in model.parameters()), "parameters", flush=True)

    torch.save({"weight": torch.ones(2, 2)}, os.path.join(OUT, "legacy.pth"), _use_new_zipfile_serialization=False)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "batch": BATCH, "cases": manifest}, f, indent=1)


if __name__ == "__main__":
    main()
