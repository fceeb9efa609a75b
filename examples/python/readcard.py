#!/usr/bin/env python3
"""Print the card's iReadCardBas line through libsscard with ctypes, the way
many integrators load vendor reader libraries.

    go build -buildmode=c-shared -o libsscard.so ./cmd/libsscard
    python3 examples/python/readcard.py ./libsscard.so [iType]

Strings are GBK unless SSC_CHARSET=utf-8 is set; this script decodes
accordingly.
"""
import ctypes
import os
import sys

SSC_MAX_OUTINFO = 1024


def load(path):
    lib = ctypes.CDLL(path)
    lib.iReadCardBas.argtypes = [ctypes.c_int, ctypes.c_char_p]
    lib.iReadCardBas.restype = ctypes.c_long
    return lib


def charset():
    return "utf-8" if os.environ.get("SSC_CHARSET", "").lower() in ("utf-8", "utf8") else "gbk"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "./libsscard.so"
    itype = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    lib = load(path)
    out = ctypes.create_string_buffer(SSC_MAX_OUTINFO)
    rc = lib.iReadCardBas(itype, out)
    text = out.value.decode(charset())
    if rc != 0:
        print("readcard: error %d: %s" % (rc, text), file=sys.stderr)
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
