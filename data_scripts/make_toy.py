"""Generate the toy datasets the course runs on (the simulator is introduced in chapter 03).

Usage::

    python -m data_scripts.make_toy                   # both datasets under the data root
    python -m data_scripts.make_toy --which machines  # only the MIMII-style machines
    python -m data_scripts.make_toy --root /data/toy --seed 1

Running it again with the same parameters does nothing ("up to date"); other parameters
replace the old dataset. The data root is ``$COURSE_DATA`` (default
``~/.cache/machine-listening``); the toy data goes to its ``toy/`` folder.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from course_lib import paths, synth

#: name -> (subfolder, parameters(seed) -> dict, make(root, seed) -> Path)
_DATASETS: dict[str, tuple[str, Callable[[int], dict], Callable[[Path, int], Path]]] = {
    "machines": (synth.MIMII_DIR, lambda seed: synth.machine_dataset_parameters(seed=seed),
                 lambda root, seed: synth.make_machine_dataset(root, seed=seed)),
    "urban": (synth.URBAN_DIR, lambda seed: synth.urban_dataset_parameters(seed=seed),
              lambda root, seed: synth.make_urban_dataset(root, seed=seed)),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Return the parsed command-line arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m data_scripts.make_toy",
        description="Generate the course's toy datasets (MIMII-style machine sounds and "
                    "UrbanSound8K-style urban sounds). Deterministic: the same seed gives "
                    "bit-identical files.")
    parser.add_argument("--which", choices=["machines", "urban", "all"], default="all",
                        help="which dataset to generate (default: all)")
    parser.add_argument("--root", type=Path, default=None,
                        help="toy data folder (default: $COURSE_DATA/toy, now "
                             f"{paths.toy_root()})")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    return parser.parse_args(argv)


def make(which: str, root: Path, seed: int) -> None:
    """Generate (or confirm up to date) each requested dataset, printing one line each."""
    for name in (["machines", "urban"] if which == "all" else [which]):
        subfolder, parameters, build = _DATASETS[name]
        target = root / subfolder
        if synth.is_complete(target, parameters(seed)):
            print(f"{name}: up to date in {target}")
            continue
        start = time.perf_counter()
        build(root, seed)
        n_files = synth.read_marker(target)["files"]
        print(f"{name}: wrote {n_files} files to {target} in {time.perf_counter() - start:.1f} s")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line: parse the arguments and generate the datasets."""
    args = parse_args(argv)
    if args.seed < 0:
        raise SystemExit("--seed must be a non-negative integer")
    make(args.which, (args.root or paths.toy_root()).expanduser(), args.seed)


if __name__ == "__main__":
    main()
