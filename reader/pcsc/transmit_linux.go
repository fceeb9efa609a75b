//go:build !nopcsc && cgo && linux

package pcsc

// #cgo pkg-config: libpcsclite
// #include <winscard.h>
import "C"

import (
	"bytes"
	"reflect"
	"sync"
	"unsafe"

	"github.com/ebfe/scard"
)

// ebfe/scard's Card.Transmit allocates a 64 KiB receive buffer on every
// call (73.8 KB per APDU with the rest), which at many readers is a good
// part of the daemon's CPU in the garbage collector (docs/benchmarks.md,
// issue #17). It has no variant taking a buffer, so this one call goes to
// SCardTransmit directly with a pooled buffer; ebfe/scard still does
// everything else (contexts, connect, status, transactions) and owns the
// handle. The handle is ebfe/scard's unexported Card.handle, read through
// its layout, which init checks: any other layout falls back to
// Card.Transmit.

// recvSize is what ebfe/scard allocates: MAX_BUFFER_SIZE_EXTENDED.
const recvSize = C.MAX_BUFFER_SIZE_EXTENDED

var recvBufs = sync.Pool{New: func() any { return new([recvSize]byte) }}

// scardCard mirrors github.com/ebfe/scard.Card.
type scardCard struct {
	handle         uintptr
	activeProtocol scard.Protocol
}

// directTransmit is set when scard.Card has the layout of scardCard.
var directTransmit = sameLayout(reflect.TypeFor[scard.Card](), reflect.TypeFor[scardCard]())

func sameLayout(a, b reflect.Type) bool {
	if a.Size() != b.Size() || a.NumField() != b.NumField() {
		return false
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Offset != fb.Offset {
			return false
		}
	}
	return true
}

// transmit sends cmd (4 bytes at least; the caller checks) on h and
// returns the response in a slice of its own. It runs on the goroutine of
// a blocking call: an abandoned call keeps its buffer until it returns.
func transmit(h *scard.Card, cmd []byte) ([]byte, error) {
	if !directTransmit {
		rsp, err := h.Transmit(cmd)
		return bytes.Clone(rsp), err
	}
	p := h.ActiveProtocol()
	if p != scard.ProtocolT0 && p != scard.ProtocolT1 {
		return nil, scard.ErrProtoMismatch
	}
	buf := recvBufs.Get().(*[recvSize]byte)
	defer recvBufs.Put(buf)
	sendPCI := C.SCARD_IO_REQUEST{dwProtocol: C.DWORD(p), cbPciLength: C.sizeof_SCARD_IO_REQUEST}
	n := C.DWORD(len(buf))
	handle := (*scardCard)(unsafe.Pointer(h)).handle
	r := C.SCardTransmit(C.SCARDHANDLE(handle), &sendPCI, (*C.BYTE)(unsafe.Pointer(&cmd[0])), C.DWORD(len(cmd)),
		nil, (*C.BYTE)(unsafe.Pointer(&buf[0])), &n)
	if r != C.SCARD_S_SUCCESS {
		return nil, scard.Error(uint32(r))
	}
	return bytes.Clone(buf[:n]), nil
}
