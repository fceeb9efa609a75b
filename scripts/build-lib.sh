#!/bin/sh
# Builds libsscard.so (the ministry reader interface for C, docs/c-api.md)
# and the C example into bin/. Needs gcc and libpcsclite-dev.
set -eu
cd "$(dirname "$0")/.."
mkdir -p bin
go build -buildmode=c-shared -o bin/libsscard.so ./cmd/libsscard
rm -f bin/libsscard.h # cgo's header; cmd/libsscard/sscard.h is the contract
${CC:-gcc} -std=c99 -Wall -I cmd/libsscard -o bin/readcard examples/c/readcard.c -Lbin -lsscard -Wl,-rpath,'$ORIGIN'
echo "bin/libsscard.so bin/readcard"
