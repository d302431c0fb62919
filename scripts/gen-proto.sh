#!/usr/bin/env bash
# Regenerates the committed Swift code for Protos/*.proto. Needs protoc (Debian
# protobuf-compiler) and protoc-gen-swift built from the swift-protobuf version that
# Package.swift names (a release build takes ~1.5 minutes; the result is cached in
# .build-protoc/).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || apt-get install -y protobuf-compiler
version=1.39.0
plugin=.build-protoc/swift-protobuf/.build/release/protoc-gen-swift
if [ ! -x "$plugin" ]; then
  rm -rf .build-protoc/swift-protobuf
  git clone --quiet --branch "$version" https://github.com/apple/swift-protobuf.git .build-protoc/swift-protobuf
  swift build -c release --package-path .build-protoc/swift-protobuf --product protoc-gen-swift
fi
for proto in $(cd Protos && find . -name '*.proto'); do
  protoc --plugin="$plugin" --swift_out=Sources/LicenseCore/Proto --swift_opt=Visibility=Public -I Protos "Protos/$proto"
done
