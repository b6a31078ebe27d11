"""One rank of the 2-process DDP test (launched by torchrun from test_distributed.py),
or the single-process reference when run without torchrun.

Usage: ddp_worker.py OUT_DIR BATCH_SIZE
"""

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from tiny_data import TINY_MSTCN, tiny_samples  # noqa: E402

from actseg_lib.data.prepare import prepare_segmentation  # noqa: E402
from actseg_lib.engine import SegmentationTask, TrainConfig, Trainer, distributed  # noqa: E402
from actseg_lib.models import build_model  # noqa: E402


def main(out: Path, batch_size: int) -> None:
    info = distributed.init_distributed()
    data = prepare_segmentation("mstcn:tiny", samples=tiny_samples(num=12), progress=False)
    # 8 training videos: no rank gets a padded duplicate, so 2 ranks x 2 videos hold the
    # same videos as one process's batch of 4
    data.splits = {"train": np.arange(8), "val": np.arange(8, 10), "test": np.arange(10, 12)}
    torch.manual_seed(0)
    model = build_model(
        "ms_tcn", in_channels=data.in_channels, num_classes=data.num_classes, **{**TINY_MSTCN, "dropout": 0.0}
    )
    trainer = Trainer(
        model,
        SegmentationTask(),
        TrainConfig(epochs=3, batch_size=batch_size, lr=1e-2),
        out_dir=out / "checkpoints",
        progress=False,
    )
    trainer.fit(data.dataset("train"), data.dataset("val"))
    torch.save(
        {
            "model": model.state_dict(),
            "history": [(r["train_loss"], r["val"]) for r in trainer.history],
            "test": trainer.evaluate(data.dataset("test")),
            "world_size": info.world_size,
        },
        out / f"rank{info.rank}-of-{info.world_size}.pt",
    )
    distributed.cleanup()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
