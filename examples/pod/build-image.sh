#!/bin/sh
# Builds dce-example-busybox:latest offline from the host's static busybox
# (Debian: `apt-get install busybox-static`). Run it on every agent host (or push the image to
# your registry and change `image:` in docker-compose.yml).
set -eu
here=$(dirname "$0")
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$here/Dockerfile" "$context/"
cp "${BUSYBOX:-/bin/busybox}" "$context/busybox"
docker build -t dce-example-busybox:latest "$context"
