"""Fine-tunes a run folder's model.safetensors with PyTorch DistributedDataParallel, then saves it for this library.

Python because DistributedDataParallel is PyTorch's engine: the processes, their gloo collectives and the gradient
all-reduce are torch's, and nothing in .NET drives them. Everything else stays with the library: the run folder says
what to train (variant, labels, recipe, data), and what this script writes, OUT/model.safetensors, holds torchvision's key
names and the same recipe metadata, so `efficientnet export` and `efficientnet evaluate` take it back.

Started by ddp.sh (its flags, its defaults); Debian's python3-torch 1.13 and python3-torchvision 0.14, CPU, gloo backend,
one process per rank, each rank's share of the data chosen by DistributedSampler.
"""
import argparse
import gzip
import json
import os
import socket
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    import torch.nn.functional as F
    import torchvision
except ImportError as missing:
    sys.exit(f"error: {sys.executable} cannot import {missing.name}: on Debian, apt-get install python3-torch "
             f"python3-torchvision python3-numpy python3-pil (bash scripts/setup.sh does), or set PYTHON to an interpreter that has them.")

WEIGHTS = "model.safetensors"
SUMMARY = "training.json"
# Debian's dataset-fashion-mnist, as the library reads it (FashionMnist.DefaultDirectory).
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
# The library's image extensions (ImageFolder.ImageExtensions), compared case-insensitively.
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
# torchvision's builders for the library's variant names; Lite has none.
BUILDERS = {**{f"b{i}": f"efficientnet_b{i}" for i in range(8)},
            "v2-s": "efficientnet_v2_s", "v2-m": "efficientnet_v2_m", "v2-l": "efficientnet_v2_l"}
DTYPES = {"F32": (np.float32, torch.float32), "F64": (np.float64, torch.float64), "I64": (np.int64, torch.int64)}


class Refused(Exception):
    """A run this script cannot fine-tune; the message says which file or key and what was expected."""


def read_safetensors(path):
    # Debian 12 has no python3-safetensors: the format is an 8-byte header length, a JSON header, then raw data.
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    metadata = header.pop("__metadata__", {}) or {}
    state = {}
    for key, entry in header.items():
        if entry["dtype"] not in DTYPES:
            raise Refused(f"'{path}': tensor '{key}' is {entry['dtype']}; expected one of {', '.join(DTYPES)}.")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]][0]).reshape(entry["shape"])
        state[key] = torch.from_numpy(array.copy())
    return state, metadata


def write_safetensors(path, state, metadata):
    names = {v: k for k, (_, v) in DTYPES.items()}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for key, tensor in state.items():
        blob = tensor.detach().cpu().contiguous().numpy().tobytes()
        header[key] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(temporary, path)  # a kill leaves the old file or the new one, never half of one


def read_run(run):
    """What the run folder records: its weights with their recipe metadata, and where its training images came from."""
    weights = os.path.join(run, WEIGHTS)
    if not os.path.isfile(weights):
        raise Refused(f"'{weights}' does not exist: --run takes a run folder written by `efficientnet train`.")
    state, metadata = read_safetensors(weights)
    for key in ("efficientnetml_recipe", "variant", "labels", "resize_size", "crop_size", "mean", "std"):
        if key not in metadata:
            raise Refused(f"'{weights}' records no '{key}' in its __metadata__: it was not written by a run of `efficientnet train`.")
    variant = metadata["variant"]
    if variant.startswith("lite"):
        raise Refused(f"'{weights}' is EfficientNet-{variant}: torchvision has no Lite models, so DDP cannot rebuild it. "
                      f"Fine-tune b0…b7 or v2-s/m/l runs.")
    if variant not in BUILDERS:
        raise Refused(f"'{weights}' records variant '{variant}'; expected one of {', '.join(BUILDERS)}.")
    if metadata.get("padding", "symmetric") != "symmetric":
        raise Refused(f"'{weights}' records padding '{metadata['padding']}'; torchvision's models pad symmetrically "
                      f"(TensorFlow 'same' padding has no torchvision model).")
    summary_path = os.path.join(run, SUMMARY)
    if not os.path.isfile(summary_path):
        raise Refused(f"'{summary_path}' does not exist: --run takes a run folder written by `efficientnet train`.")
    with open(summary_path) as f:
        summary = json.load(f)
    data = summary.get("data")
    if not isinstance(data, dict) or not data.get("source"):
        raise Refused(f"'{summary_path}' records no training data ('data'): only `efficientnet train` records it; "
                      f"train the run again with it.")
    return state, metadata, data


def parse_rgb(text):
    values = [float(v) for v in text.split(",")]
    return values * 3 if len(values) == 1 else values


class RunImages(torch.utils.data.Dataset):
    """The run's training images, as `efficientnet train --data … [--classes …] [--per-class …]` opened them: the same
    images in the same order, labelled by the run's class list. All of them: a run without --validation held a share out
    for validation with .NET's seeded split, which is not reproduced here."""

    def __init__(self, data, labels, resize, crop, mean, std):
        self.resize, self.crop = resize, crop
        self.mean = torch.tensor(mean).view(3, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1)
        source = data["source"]
        if source in ("fashion-mnist", "fashion-mnist-test"):
            self.items, self.targets = self._fashion_mnist(source == "fashion-mnist", data.get("fashionMnistLabels"), labels)
            self.gray = True
        else:
            self.items, self.targets = self._folder(source, labels)
            self.gray = False
        per_class = data.get("perClass")
        if per_class:
            # The first N of each class in the set's order, as LabeledImageSet.TakePerClass.
            counts, kept = [0] * len(labels), []
            for i, t in enumerate(self.targets):
                counts[t] += 1
                if counts[t] <= per_class:
                    kept.append(i)
            self.items = [self.items[i] for i in kept] if isinstance(self.items, list) else self.items[kept]
            self.targets = [self.targets[i] for i in kept]

    @staticmethod
    def _fashion_mnist(train, original, labels):
        prefix = "train" if train else "t10k"

        def idx(name):
            path = os.path.join(FASHION_MNIST_DIR, f"{prefix}-{name}-ubyte.gz")
            if not os.path.isfile(path):
                raise Refused(f"Fashion-MNIST file '{path}' is missing. On Debian: apt-get install dataset-fashion-mnist.")
            with gzip.open(path) as f:
                raw = f.read()
            dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * raw[3]).reshape(dims)

        images, all_labels = idx("images-idx3"), idx("labels-idx1")
        kept = list(original) if original else list(range(10))
        if len(kept) != len(labels):
            raise Refused(f"the run's training data names Fashion-MNIST labels {kept} but its model has {len(labels)} classes {labels}.")
        relabel = {label: i for i, label in enumerate(kept)}
        indices = [i for i, label in enumerate(all_labels) if int(label) in relabel]
        return images[indices], [relabel[int(all_labels[i])] for i in indices]

    @staticmethod
    def _folder(root, labels):
        if not os.path.isdir(root):
            raise Refused(f"the run's training folder '{root}' does not exist (moved or deleted since the run).")
        items, targets, classes = [], [], []
        # Ordinal order of folders and of files under each, as the library's ImageFolder.Open.
        for name in sorted(os.listdir(root)):
            folder = os.path.join(root, name)
            if not os.path.isdir(folder):
                continue
            files = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs
                           if os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)
            if not files:
                continue
            classes.append(name)
            items += files
            targets += [len(classes) - 1] * len(files)
        if classes != list(labels):
            raise Refused(f"the run's training folder '{root}' has classes {classes}; its model has {labels}.")
        return items, targets

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        if self.gray:
            x = torch.from_numpy(np.array(self.items[i], dtype=np.float32)).unsqueeze(0).expand(3, -1, -1)
        else:
            from PIL import Image
            with Image.open(self.items[i]) as image:
                x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32)).permute(2, 0, 1)
        # Shorter side to resize_size, centre square, centre crop_size, then (x/255 - mean)/std: the recipe the run
        # records; bilinear with half-pixel centres as the library's trainer resizes (TrainAugmentation).
        h, w = x.shape[1:]
        scale = self.resize / min(h, w)
        x = F.interpolate(x.unsqueeze(0), size=(max(self.resize, round(h * scale)), max(self.resize, round(w * scale))),
                          mode="bilinear", align_corners=False).squeeze(0)
        top, left = (x.shape[1] - self.crop) // 2, (x.shape[2] - self.crop) // 2
        x = x[:, top:top + self.crop, left:left + self.crop]
        return (x / 255.0 - self.mean) / self.std, self.targets[i]


def build_model(metadata, num_classes):
    model = getattr(torchvision.models, BUILDERS[metadata["variant"]])(num_classes=num_classes)
    # The run's batch-norm conventions (recorded with its weights) rather than the builder's defaults.
    eps, momentum = metadata.get("bn_eps"), metadata.get("bn_momentum")
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            if eps is not None:
                m.eps = float(eps)
            if momentum is not None:
                m.momentum = float(momentum)
    return model


def worker(rank, args, port, local_world):
    world = args.processes
    prefix = f"[rank {rank}/{world}]"

    def log(text):
        print(f"{prefix} {text}", flush=True)

    if port is not None:  # ranks started here; torchrun sets MASTER_ADDR and MASTER_PORT itself
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    # The machine's cores shared out between the ranks on it, so that they do not oversubscribe it.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    torch.manual_seed(args.seed)

    state, metadata, data = read_run(args.run)
    labels = json.loads(metadata["labels"])
    model = build_model(metadata, len(labels))
    model.load_state_dict(state, strict=True)
    images = RunImages(data, labels, int(metadata["resize_size"]), int(metadata["crop_size"]),
                       parse_rgb(metadata["mean"]), parse_rgb(metadata["std"]))
    sampler = torch.utils.data.distributed.DistributedSampler(images, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    # A last batch of one image would stop batch norm in training mode (one value per channel): it is left out.
    loader = torch.utils.data.DataLoader(images, batch_size=args.batch_size, sampler=sampler, num_workers=0,
                                         drop_last=len(sampler) % args.batch_size == 1)
    log(f"{metadata['variant']} {len(labels)} classes, {len(images)} images from {data['source']}, "
        f"{len(sampler)} on this rank, {torch.get_num_threads()} threads")

    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.AdamW(ddp.parameters(), lr=args.lr, weight_decay=0.05)
    steps = max(1, args.epochs * len(loader))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)  # a different shuffle each epoch, the same on every rank
        ddp.train()
        start, total, correct, seen = time.time(), 0.0, 0, 0
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            logits = ddp(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()  # DDP all-reduces the gradients here, so every rank takes the same step
            optimizer.step()
            schedule.step()
            total += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
        seconds = time.time() - start
        log(f"epoch {epoch} loss {total / max(seen, 1):.4f} acc {correct / max(seen, 1):.4f} ({seen} images, {seconds:.1f} s)")
        totals = torch.tensor([total, correct, seen], dtype=torch.float64)
        dist.all_reduce(totals)
        if rank == 0:
            log(f"epoch {epoch} all ranks: loss {totals[0] / totals[2]:.4f} acc {totals[1] / totals[2]:.4f} "
                f"({int(totals[2])} images, {totals[2] / seconds:.1f} images/s)")

    if rank == 0:
        os.makedirs(args.output, exist_ok=True)
        out = os.path.join(args.output, WEIGHTS)
        # The unwrapped module's keys are torchvision's (no "module." prefix); the run's metadata travels on, so
        # export and evaluate find the same variant, labels and recipe.
        write_safetensors(out, dict(ddp.module.state_dict()), metadata)
        with open(os.path.join(args.output, "labels.txt"), "w") as f:
            f.write("\n".join(labels) + "\n")
        log(f"saved {out}")
    dist.barrier()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(prog="ddp.sh", description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="run folder written by `efficientnet train`")
    parser.add_argument("--output", required=True, help="folder for model.safetensors and labels.txt")
    parser.add_argument("--processes", type=int, default=2, help="DDP ranks, one process each (default 2); under torchrun, its --nproc_per_node and --nnodes decide")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the run's training images (default 1)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per step on each rank (default 32)")
    parser.add_argument("--lr", type=float, default=3e-4, help="peak AdamW learning rate, cosine decay (default 3e-4)")
    parser.add_argument("--seed", type=int, default=0, help="shuffle and initialisation seed (default 0)")
    args = parser.parse_args()
    for name, least in (("processes", 1), ("epochs", 1), ("batch_size", 2)):  # batch norm needs two images
        if getattr(args, name) < least:
            parser.error(f"--{name.replace('_', '-')} must be at least {least}; got {getattr(args, name)}.")
    if not args.lr > 0:
        parser.error(f"--lr must be positive; got {args.lr}.")
    args.run, args.output = os.path.abspath(args.run), os.path.abspath(args.output)
    try:
        # Refused here, once, before any process starts: a bad run folder or missing data gives one message, not one per rank.
        _, metadata, data = read_run(args.run)
        labels = json.loads(metadata["labels"])
        if len(RunImages(data, labels, 1, 1, [0.0] * 3, [1.0] * 3)) == 0:
            raise Refused(f"the run's training data ({data['source']}) holds no images.")
    except Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        # Started by torchrun, on this machine or on several (the run folder's data at the same path on each): this
        # process is one rank.
        args.processes = int(os.environ["WORLD_SIZE"])
        worker(int(os.environ["RANK"]), args, None, int(os.environ.get("LOCAL_WORLD_SIZE", args.processes)))
        return 0
    # fork: the ranks inherit the imported torch instead of importing it again (seconds each); nothing in this process
    # has started a torch thread pool yet, so forking is safe.
    mp.start_processes(worker, args=(args, free_port(), args.processes), nprocs=args.processes, join=True, start_method="fork")
    return 0


if __name__ == "__main__":
    sys.exit(main())
