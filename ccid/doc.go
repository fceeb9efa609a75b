// Package ccid encodes and decodes USB CCID (rev 1.1) bulk messages and the
// serial framing that Gemalto GemPC Twin / GemPC PinPad readers use on an
// RS-232 line, as Debian's libccidtwin driver speaks it (docs/serial-ccid.md):
//
//	03 (SYNC) 06 (ACK) <CCID message: 10-byte header + dwLength bytes> LRC
//
// where LRC is the XOR of every byte before it. A NAK is 03 15 16; a reader
// may also send a one-byte T=0 time request (80..FF) and a card-movement
// notice 50 02 / 50 03 between frames. Twin and PinPad readers echo every
// command (as a frame) before the answer.
//
// It also holds the PIN-pad structures: the PC/SC part 10
// PIN_VERIFY_STRUCTURE / PIN_MODIFY_STRUCTURE an application passes to
// SCardControl, the CCID PC_to_RDR_Secure payload a driver makes of them,
// and the insertion of the digits typed on the keypad into the APDU.
//
// Both the host transport (package reader) and the reader emulator (package
// sim/gempc) are built on it. Decoders never panic and reject truncated or
// inconsistent input with errors wrapping ErrMalformed.
package ccid
