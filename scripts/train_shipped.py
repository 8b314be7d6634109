"""Train the nets symnet ships (symnet/models/shipped.py) on Fashion-MNIST and write their files.

Each net is trained by one NetTrain call with a fixed seed on the 60,000 training images; the
test set is used once, after training, to measure the accuracy that is recorded (never to choose
anything). Writes symnet/models/data/<file>.symnet and symnet/models/data/shipped.json (seed,
settings, the file's SHA-256, the script's SHA-256, test accuracy, training time).

    nice python scripts/train_shipped.py                       # both nets
    nice python scripts/train_shipped.py --only "2-Conv BatchNorm CNN Trained on Fashion-MNIST"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from symnet import All, Export, NetInitialize, NetTrain, datasets, metrics
from symnet.models.shipped import DATA, SHIPPED

SEED = 20261203
#: NetTrain settings per net. The notebook CNN starts from Xavier weights (PyTorch's scale for
#: its layers, see examples/demo.py); the batch-normalized net from NetInitialize's default.
SETTINGS: dict[str, dict[str, Any]] = {
    "PyTorch Notebook CNN Trained on Fashion-MNIST": {"initialization": "Xavier", "batch_size": 128, "max_training_rounds": 15, "method": "ADAM", "learning_rate": 2e-3},
    "2-Conv BatchNorm CNN Trained on Fashion-MNIST": {"initialization": "Kaiming", "batch_size": 128, "max_training_rounds": 30, "method": "ADAM", "learning_rate": 2e-3},
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_one(name: str, train: Any, test: Any, rounds: int | None) -> dict[str, Any]:
    build, file = SHIPPED[name]
    settings = dict(SETTINGS[name])
    if rounds is not None:
        settings["max_training_rounds"] = rounds
    net = NetInitialize(build(), method=settings["initialization"], random_seeding=SEED)
    start = time.perf_counter()
    results = NetTrain(net, train, All, batch_size=settings["batch_size"], max_training_rounds=settings["max_training_rounds"], method=settings["method"],
                       learning_rate=settings["learning_rate"], random_seeding=SEED, working_precision="Real32", training_progress_reporting="Print")
    seconds = time.perf_counter() - start
    trained = results["TrainedNet"]
    probabilities = torch.from_numpy(trained(test.images, None))
    accuracy = metrics.accuracy(probabilities, torch.from_numpy(test.labels))
    path = DATA / file
    Export(path, trained)
    print(f"{name}: test accuracy {accuracy:.4f} after {settings['max_training_rounds']} rounds in {seconds:.0f} s; wrote {path} ({path.stat().st_size} bytes)", flush=True)
    return {"Seed": SEED, **settings, "TestAccuracy": round(float(accuracy), 4), "TrainingSeconds": round(seconds), "File": file, "SHA256": sha256(path),
            "ScriptSHA256": sha256(Path(__file__)), "Torch": torch.__version__}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(SHIPPED), help="train only this net (the others' records are kept)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds (for a quick trial; do not ship its result)")
    args = parser.parse_args()
    train = datasets.load("FashionMNIST", split="train")
    test = datasets.load("FashionMNIST", split="test")
    DATA.mkdir(exist_ok=True)
    record_path = DATA / "shipped.json"
    for name in [args.only] if args.only else list(SHIPPED):
        entry = train_one(name, train, test, args.rounds)
        # read the record again just before writing: another run (--only the other net) may have written it meanwhile
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        record_path.write_text(json.dumps({**record, name: entry}, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
