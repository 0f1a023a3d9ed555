#!/usr/bin/env bash
# Regenerate every reference fixture, in dependency order, then print the summary.
# Needs tools/.venv (see README.md) and the verified GGUF in public/models/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=tools/.venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
$PY tools/reference/gen_tokenizer.py       # tokenizer_llamacpp.jsonl
$PY tools/reference/gen_chat_template.py   # chat_template_hf.jsonl, chat_template.jinja
$PY tools/reference/gen_logits_hf.py       # logits_hf.json/.bin (needs llama.cpp's tokenizer)
$PY tools/reference/gen_logits_llamacpp.py # logits_llamacpp.json/.bin (reads logits_hf.json)
$PY tools/reference/check_fixtures.py
