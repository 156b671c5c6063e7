#!/usr/bin/env bash
# Train aura-tiny from scratch on a lent GPU in one call of the device tool, and send the model back.
#
# The same command and seed as the CPU run (`python -m training.train --device cuda`), with the data
# rendered by every core: about 6-8 minutes on one H100, inside the device's 10-minute command limit.
# Should the training run past TRAIN_LIMIT seconds (or fail), the model as of its last checkpoint
# comes back instead (its aura.json says "snapshot_of"), so a lease is never spent for nothing.
#
#   1. Here, the committed CPU checkpoint (110 MB) must not travel (at most 64 MiB does):
#        git rm -r -q --cached training/runs/checkpoint && echo /training/runs/checkpoint/ >> .git/info/exclude
#   2. device run: command "bash training/device_train.sh", carry [".whl"], timeout_s 600
#      (.whl: the diffusers and transformers wheels this project pins; see docs/models.md)
#   3. Here, put the checkpoint back (git reset -q training/runs/checkpoint; drop the exclude line) and
#      unpack the model in place of the old one:
#        rm -rf src/aura_reflect/models/aura-tiny && cat <files_at>/aura-tiny.tar.* | tar -C src/aura_reflect/models -xf -
#
# Locally, as a dry run of this script: DEVICE=cpu OUT=/tmp/out bash training/device_train.sh --smoke
set -euo pipefail
OUT=${OUT:?set OUT to the folder whose files come back}
DEVICE=${DEVICE:-cuda}
TRAIN_LIMIT=${TRAIN_LIMIT:-480}
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD/src:$PWD" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
# Fail in seconds, not after the data is rendered, if the machine lacks a package or the device.
python3 -c "import sys, torch, tokenizers, safetensors, huggingface_hub, PIL, diffusers, transformers
sys.exit('$DEVICE' == 'cuda' and not torch.cuda.is_available() and 'no CUDA device here')"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
run=(python3 -m training.train --device "$DEVICE" --workers "$(nproc)" --checkpoints "$work/checkpoint" "$@")
if ! timeout "$TRAIN_LIMIT" "${run[@]}" --out "$work/aura-tiny" --log "$OUT/aura-tiny-loss.csv" 2>&1 | tee "$OUT/train.log"; then
    if [ -f "$work/aura-tiny/aura.json" ]; then  # written last: the model was saved whole before the stop
        echo "training stopped after saving the model (limit ${TRAIN_LIMIT}s)" | tee -a "$OUT/train.log"
    else
        echo "training did not finish within ${TRAIN_LIMIT}s: sending the model at its last checkpoint" | tee -a "$OUT/train.log"
        "${run[@]}" --snapshot "$work/aura-tiny" 2>&1 | tee -a "$OUT/train.log"
    fi
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/device.txt" 2>/dev/null || uname -m > "$OUT/device.txt"
# At most 16 MiB a file comes back: the model travels as a tar in 15 MB pieces.
tar -C "$work" -cf - aura-tiny | split -b 15M -d - "$OUT/aura-tiny.tar."
ls -l "$OUT"
