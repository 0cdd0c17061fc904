#!/bin/sh
# Rebuilds the committed .wasm files from the .wat sources (needs wabt's
# wat2wasm: apt-get install -y wabt). Tests use the committed .wasm files.
set -eu
cd "$(dirname "$0")"
for f in *.wat; do wat2wasm "$f" -o "${f%.wat}.wasm"; done
