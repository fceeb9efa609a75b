#!/usr/bin/env python3
"""driver.py LIB — the line protocol of driver.c through ctypes, for the Go
tests: one call a line on stdin (FUNC<TAB>args; <NULL>, <LONG:n>, <EMPTY>;
a leading '!' passes a NULL output buffer), "rc<TAB>out" on stdout."""
import ctypes
import sys

MAX_OUT, MAX_PKI, MAX_SN, MAX_TERM = 1024, 4096, 128, 64
I, S = ctypes.c_int, ctypes.c_char_p

# argument kinds before the output buffer
SIGS = {
    "iReadCardBas": [I], "iReadCardBas_HSM_Step1": [I], "iReadCardBas_HSM_Step2": [S],
    "ssc_ReadCardBas_HSM": [I], "iReadCard": [I, I, S, S], "iReadCard_HSM_Step1": [I, S, S],
    "iReadCard_HSM_Step2": [S], "iWriteCard": [I, S, S, S], "iWriteCard_HSM_Step1": [I, S, S],
    "iWriteCard_HSM_Step2": [S, S], "iWriteCard_HSM_Step3": [S], "iVerifyPIN": [I], "iChangePIN": [I],
    "iReloadPIN": [I, S], "iUnblockPIN": [I, S],
    "iReloadPIN_HSM_Step1": [I, S], "iReloadPIN_HSM_Step2": [S], "iReloadPIN_HSM_Step3": [S],
    "iUnblockPIN_HSM_Step1": [I, S], "iUnblockPIN_HSM_Step2": [S], "iUnblockPIN_HSM_Step3": [S],
    "iDoDebit": [I, S, S], "iReadDebitRecord": [I],
    "PKI_SignData": [S, S, I], "PKI_VerifySign": [S, S, S, S, I],
    "ssc_GetVersion": [],
}


def conv(kind, a):
    if kind is I:
        return int(a)
    if a == "<NULL>":
        return None
    if a == "<EMPTY>":
        return b""
    if a.startswith("<LONG:"):
        return b"A" * int(a[6:-1])
    return a.encode("latin-1")


def main():
    lib = ctypes.CDLL(sys.argv[1])
    for name, sig in SIGS.items():
        f = getattr(lib, name)
        f.argtypes = sig + [ctypes.c_char_p]
        f.restype = ctypes.c_long
    lib.iGetReaderInfo.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.iGetReaderInfo.restype = ctypes.c_long
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        parts = line.rstrip(b"\n").decode("latin-1").split("\t")
        fn, raw = parts[0], parts[1:]
        nullout = fn.startswith("!")
        fn = fn.lstrip("!")
        if fn == "iGetReaderInfo":
            sn, term = ctypes.create_string_buffer(MAX_SN), ctypes.create_string_buffer(MAX_TERM)
            rc = lib.iGetReaderInfo(sn, term)
            out.write(b"%d\t%s\t%s\n" % (rc, sn.value, term.value))
            out.flush()
            continue
        sig = SIGS[fn]
        args = [conv(k, a) for k, a in zip(sig, raw)]
        buf = ctypes.create_string_buffer(MAX_PKI if fn.startswith("PKI_") else MAX_OUT)
        rc = getattr(lib, fn)(*args, None if nullout else buf)
        out.write(b"%d\t%s\n" % (rc, b"" if nullout else buf.value))
        out.flush()


if __name__ == "__main__":
    main()
