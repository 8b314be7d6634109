#!/usr/bin/env bash
# Fashion-MNIST comes from Debian's package dataset-fashion-mnist when it can be installed;
# otherwise symnet.datasets downloads the official files (MD5-checked) on first use.
set -u
# Debian's word lists, for the text examples (examples/language_classifier.py, word_generator.py).
if [ ! -f /usr/share/dict/ngerman ] || [ ! -f /usr/share/dict/spanish ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's word lists ..."
    (apt-get install -y -qq wamerican wfrench wngerman witalian wspanish || (apt-get update -qq && apt-get install -y -qq wamerican wfrench wngerman witalian wspanish)) >/dev/null 2>&1 \
      || echo "could not install the word lists; the text examples' tests will be skipped"
  else
    echo "the word lists are not in /usr/share/dict (sudo apt-get install wamerican wfrench wngerman witalian wspanish); the text examples' tests will be skipped"
  fi
fi
# Graphviz's dot lays out the notebook pictures of nets (symnet/graphics.py); Chromium renders an
# example notebook in tests/notebooks. Without them those tests are skipped and nets show tables only.
if ! command -v dot >/dev/null || ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's graphviz and chromium ..."
    (apt-get install -y -qq graphviz chromium || (apt-get update -qq && apt-get install -y -qq graphviz chromium)) >/dev/null 2>&1 \
      || echo "could not install graphviz/chromium; the notebook picture and browser tests will be skipped"
  else
    echo "dot or chromium is missing (sudo apt-get install graphviz chromium); the notebook picture and browser tests will be skipped"
  fi
fi
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
