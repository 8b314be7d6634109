#!/usr/bin/env bash
# Fashion-MNIST comes from Debian's package dataset-fashion-mnist when it can be installed;
# otherwise symnet.datasets downloads the official files (MD5-checked) on first use.
set -u
dir=/usr/share/datasets/fashion-mnist
if [ -f "$dir/train-images-idx3-ubyte.gz" ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's dataset-fashion-mnist ..."
  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
    || echo "could not install dataset-fashion-mnist; symnet will try to download the files"
else
  echo "Fashion-MNIST is not under $dir; symnet will try to download it (or: sudo apt-get install dataset-fashion-mnist)"
fi
exit 0
