#!/bin/sh
# Builds the example transforms and reactors from source into examples/build/<name>.wasm
# (or into the directory given as $1). Called by `make examples`.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/examples/build}"
mkdir -p "$out"
cd "$root"
for name in form-encode require-header custom-error vault-response hmac-sign charge-card; do
	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "$out/$name.wasm" "./examples/$name"
	echo "built $out/$name.wasm"
done
