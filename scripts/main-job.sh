#!/usr/bin/env bash
# The main job: a sweep of the default model (SmolLM2-135M Q4_1 on llama.cpp, CPU) over
# batch sizes and input lengths. Prints the table and writes results/main.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec ./target/release/trtbench sweep \
  --engines engines/smollm2-135m-q4_1 \
  --batch 1,2,4,8 --isl 128,512 --osl 64 \
  --warmup 2 --runs 5 \
  --out results/main.json --force "$@"
