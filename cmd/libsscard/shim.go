package main

import "C"

import (
	"unsafe"

	"github.com/sscard/ssc/internal/ministry"
)

// The cgo side of libsscard: C strings in, C strings out, and the guard
// that keeps a panic inside the library. Everything else is in
// internal/ministry.

// guard recovers a panic of an export: the host process gets ErrInternal
// (and the message, when there is a buffer), never the panic.
func guard(ret *C.long, out *C.char, max int) {
	if recover() != nil {
		*ret = C.long(ministry.ErrInternal)
		if out != nil {
			write(out, max, []byte(ministry.ErrInternal.Message()))
		}
	}
}

// in reads a NUL-terminated C string of at most max bytes. ok is false for
// NULL or a longer string, which is not read past max+1 bytes.
func in(p *C.char, max int) (s string, ok bool) {
	if p == nil {
		return "", false
	}
	base := unsafe.Pointer(p)
	for n := 0; n <= max; n++ {
		if *(*byte)(unsafe.Add(base, n)) == 0 {
			return string(unsafe.Slice((*byte)(base), n)), true
		}
	}
	return "", false
}

// write copies b and a NUL into out; b is at most max-1 bytes
// (ministry.Encode guarantees it; the check keeps the promise anyway).
func write(out *C.char, max int, b []byte) {
	if len(b) > max-1 {
		b = b[:max-1]
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(out)), len(b)+1)
	copy(dst, b)
	dst[len(b)] = 0
}

// answer encodes r for out (GBK or UTF-8), enforcing max, and returns the
// code.
func answer(out *C.char, max int, r ministry.Result) C.long {
	code, b := ministry.Encode(r, max, ministry.Default().UTF8())
	write(out, max, b)
	return C.long(code)
}

// refuse answers a bad argument: the code, and its message when out is
// usable.
func refuse(out *C.char, max int, code ministry.Code) C.long {
	if out != nil {
		write(out, max, []byte(code.Message()))
	}
	return C.long(code)
}

// inputs reads several input strings with their limits; the code of the
// first bad one (NULL → ErrNullArg, too long → its own code).
type input struct {
	p       *C.char
	max     int
	tooLong ministry.Code
	dst     *string
}

func readInputs(ins ...input) (ministry.Code, bool) {
	for _, i := range ins {
		if i.p == nil {
			return ministry.ErrNullArg, false
		}
		s, ok := in(i.p, i.max)
		if !ok {
			return i.tooLong, false
		}
		*i.dst = s
	}
	return ministry.OK, true
}

func lib() *ministry.Lib { return ministry.Default() }

func main() {}
