"""Where a result came from: versions, device, command, commit; and writing results."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .. import __version__
from .atomic import atomic_write


def environment_report() -> dict[str, str]:
    """Versions and the compute device, for bug reports and results' provenance."""
    import numpy
    import torch

    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} visible)"
    else:
        device = f"cpu ({torch.get_num_threads()} threads)"
    return {
        "actseg_lib": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": device,
        "platform": platform.platform(),
    }


def git_commit() -> str | None:
    """The library checkout's commit (with ``-dirty`` when it has local changes), if any."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def provenance(seed: int | None = None) -> dict:
    return {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "environment": environment_report(),
        "git_commit": git_commit(),
        "seed": seed,
        "finished_at": datetime.now(timezone.utc).isoformat(),
    }


def write_json(data: dict, path) -> Path:
    """Write ``data`` as indented JSON atomically (temp file + rename)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    return Path(path)
