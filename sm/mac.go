package sm

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// MACSize is the length of the MAC that card commands carry: the cards
// truncate (or fold) the final CBC block to 4 bytes.
const MACSize = 4

// Padding is how MAC input (and enciphered data, see DataCipher) is padded
// to whole blocks. The choice is explicit because card texts differ: JR/T
// 0025 and most PBOC/SSC documents always pad, some COS code (the S28
// PSAM source of ssc-facts §3.2) adds nothing to aligned input.
type Padding int

const (
	// PadISO9797M2 is ISO/IEC 9797-1 padding method 2: append 80, then 00
	// up to a block boundary; aligned input gains a whole block 80 00 ….
	// JR/T 0025 (PBOC DES and SM4 MACs) and the SSC PKI COS use it.
	PadISO9797M2 Padding = iota
	// PadISO9797M2Opt is method 2 applied only to unaligned input: aligned,
	// non-empty input is used as it is. Empty input still becomes one
	// block 80 00 ….
	PadISO9797M2Opt
	// PadNone requires the input to be a non-empty whole number of blocks.
	PadNone
)

// String names the padding.
func (p Padding) String() string {
	switch p {
	case PadISO9797M2:
		return "ISO9797-1 M2"
	case PadISO9797M2Opt:
		return "ISO9797-1 M2 (no block if aligned)"
	case PadNone:
		return "none"
	}
	return fmt.Sprintf("Padding(%d)", int(p))
}

// Append appends data, padded to a multiple of blockSize, to dst. With
// PadNone, data that is empty or not block aligned gives an error wrapping
// ErrLength.
func (p Padding) Append(dst, data []byte, blockSize int) ([]byte, error) {
	return p.pad(append(dst, data...), len(dst), blockSize)
}

// pad pads b[start:] to a multiple of blockSize by appending to b.
func (p Padding) pad(b []byte, start, blockSize int) ([]byte, error) {
	if blockSize <= 0 {
		return b, fmt.Errorf("%w: block size %d", ErrLength, blockSize)
	}
	n := len(b) - start
	rem := n % blockSize
	switch p {
	case PadISO9797M2, PadISO9797M2Opt:
		if p == PadISO9797M2Opt && rem == 0 && n > 0 {
			return b, nil
		}
		b = append(b, 0x80)
		for range blockSize - rem - 1 {
			b = append(b, 0)
		}
		return b, nil
	case PadNone:
		if err := checkBlocks(b[start:], blockSize); err != nil {
			return b, err
		}
		return b, nil
	}
	return b, fmt.Errorf("sm: unknown padding %d", int(p))
}

// MACOutput says how the 4-byte MAC is taken from the final CBC block.
type MACOutput int

const (
	// MACLeft takes the leftmost 4 bytes (ISO/IEC 9797-1, JR/T 0025).
	MACLeft MACOutput = iota
	// MACXORFold XORs the 4-byte words of the final block together: the
	// SSC PKI COS MAC (ssc-facts §3.2).
	MACXORFold
)

// MACer computes the 4-byte MAC of a command or response. A local key
// (*CBCMAC) implements it, and so can a PSAM or a remote HSM that keeps
// the key: the secure-messaging transport only needs this method.
//
// iv is the initial chaining value, typically the card's challenge; nil
// means zeros. The MAC input padding belongs to the MACer.
type MACer interface {
	MAC(iv, data []byte) ([MACSize]byte, error)
}

// CBCMAC is a CBC-MAC with a local key: ISO/IEC 9797-1 MAC algorithm 1
// (SM4 or 3DES), or algorithm 3 (the DES retail MAC), with an explicit
// padding and output rule. Build one with NewSM4MAC, NewPKIMAC,
// NewRetailMAC, NewTDESMAC or NewCBCMAC. It is immutable and safe for
// concurrent use.
type CBCMAC struct {
	chain cipher.Block // every block (retail MAC: single DES under the left key)
	final cipher.Block // nil, or the cipher of the last block (retail MAC: 3DES)
	pad   Padding
	out   MACOutput
}

var _ MACer = (*CBCMAC)(nil)

// NewCBCMAC returns a CBC-MAC over b (block size 8 or 16) with the given
// padding and output rule.
func NewCBCMAC(b cipher.Block, pad Padding, out MACOutput) (*CBCMAC, error) {
	if b == nil {
		return nil, errNilBlock
	}
	if bs := b.BlockSize(); bs != DESBlockSize && bs != SM4BlockSize {
		return nil, fmt.Errorf("%w: block size %d, want %d or %d", ErrLength, bs, DESBlockSize, SM4BlockSize)
	}
	if pad < PadISO9797M2 || pad > PadNone {
		return nil, fmt.Errorf("sm: unknown padding %d", int(pad))
	}
	if out != MACLeft && out != MACXORFold {
		return nil, fmt.Errorf("sm: unknown MAC output %d", int(out))
	}
	return &CBCMAC{chain: b, pad: pad, out: out}, nil
}

// NewSM4MAC returns the SM4 CBC-MAC of JR/T 0025.5 App. C.2 with a
// 16-byte key: 16-byte blocks, MAC = leftmost 4 bytes of the final block.
// PBOC uses PadISO9797M2 and a zero IV.
func NewSM4MAC(key []byte, pad Padding) (*CBCMAC, error) {
	b, err := NewSM4(key)
	if err != nil {
		return nil, err
	}
	return NewCBCMAC(b, pad, MACLeft)
}

// NewPKIMAC returns the MAC of the SSC PKI COS (commands 84 5E, 84 D4;
// ssc-facts §3.2): CBC-SM4 with a 16-byte key over the command padded
// with PadISO9797M2; the MAC is the XOR of the four 4-byte words of the
// final block. The IV is the card's 16-byte challenge (GET CHALLENGE
// 00 84 00 00 10).
func NewPKIMAC(key []byte) (*CBCMAC, error) {
	b, err := NewSM4(key)
	if err != nil {
		return nil, err
	}
	return NewCBCMAC(b, PadISO9797M2, MACXORFold)
}

// NewRetailMAC returns the PBOC 3DES MAC: ISO/IEC 9797-1 MAC algorithm 3
// (the ANSI X9.19 retail MAC) with a 16-byte key KL || KR. Every block but
// the last is chained with DES under KL, the last one with 3DES under the
// whole key; MAC = leftmost 4 bytes. The IV is 8 bytes: the card
// challenge (a 4-byte challenge is right-padded with zeros) or zeros for
// issuer scripts. JR/T 0025 pads with PadISO9797M2.
func NewRetailMAC(key []byte, pad Padding) (*CBCMAC, error) {
	if len(key) != TDES2KeySize {
		return nil, fmt.Errorf("%w: retail MAC key is %d bytes, want %d", ErrLength, len(key), TDES2KeySize)
	}
	left, err := NewDES(key[:DESKeySize])
	if err != nil {
		return nil, err
	}
	full, err := NewTDES(key)
	if err != nil {
		return nil, err
	}
	m, err := NewCBCMAC(left, pad, MACLeft)
	if err != nil {
		return nil, err
	}
	m.final = full
	return m, nil
}

// NewTDESMAC returns ISO/IEC 9797-1 MAC algorithm 1 with 3DES (16- or
// 24-byte key) on every block, MAC = leftmost 4 bytes: the variant some
// COS and PSAMs use instead of the retail MAC.
func NewTDESMAC(key []byte, pad Padding) (*CBCMAC, error) {
	b, err := NewTDES(key)
	if err != nil {
		return nil, err
	}
	return NewCBCMAC(b, pad, MACLeft)
}

// BlockSize is the block size of the MAC's cipher.
func (m *CBCMAC) BlockSize() int { return m.chain.BlockSize() }

// MAC returns the 4-byte MAC of data with the initial value iv: nil means
// zeros, and an IV shorter than a block is right-padded with zeros (cards
// that answer an 8-byte challenge for a 16-byte cipher, or a 4-byte one for
// DES, work that way). A longer IV, or unaligned data with PadNone, gives
// an error wrapping ErrLength.
func (m *CBCMAC) MAC(iv, data []byte) ([MACSize]byte, error) {
	var mac [MACSize]byte
	var buf [SM4BlockSize]byte
	h := buf[:m.chain.BlockSize()]
	if err := m.run(h, iv, data); err != nil {
		return mac, err
	}
	switch m.out {
	case MACXORFold:
		for i := 0; i < len(h); i += MACSize {
			subtle.XORBytes(mac[:], mac[:], h[i:i+MACSize])
		}
	default:
		copy(mac[:], h)
	}
	return mac, nil
}

// Sum appends the whole final block (before truncation or folding) to dst
// and returns the result; it is the value card texts print as the "MAC
// result" before taking 4 bytes, useful for checking against them.
func (m *CBCMAC) Sum(dst, iv, data []byte) ([]byte, error) {
	n := len(dst)
	dst = append(dst, make([]byte, m.chain.BlockSize())...)
	if err := m.run(dst[n:], iv, data); err != nil {
		return dst[:n], err
	}
	return dst, nil
}

// run computes the final CBC block into h (one block, any contents).
func (m *CBCMAC) run(h, iv, data []byte) error {
	bs := len(h)
	if len(iv) > bs {
		return fmt.Errorf("%w: IV is %d bytes, want at most %d", ErrLength, len(iv), bs)
	}
	clear(h)
	copy(h, iv)

	// Split data into the blocks chained as they are and the last block,
	// which carries the padding (if any).
	var lastBuf [SM4BlockSize]byte
	last := lastBuf[:bs]
	whole := len(data) / bs * bs
	switch rem := len(data) - whole; {
	case m.pad == PadNone && (rem != 0 || len(data) == 0):
		return fmt.Errorf("%w: %d bytes of MAC input is not a whole number of %d-byte blocks", ErrLength, len(data), bs)
	case rem == 0 && len(data) > 0 && m.pad != PadISO9797M2:
		whole -= bs
		copy(last, data[whole:])
	default:
		copy(last, data[whole:])
		last[rem] = 0x80
	}

	for i := 0; i < whole; i += bs {
		xorBlock(h, data[i:i+bs])
		m.chain.Encrypt(h, h)
	}
	xorBlock(h, last)
	if m.final != nil {
		m.final.Encrypt(h, h)
	} else {
		m.chain.Encrypt(h, h)
	}
	return nil
}

// xorBlock sets dst ^= src for one 8- or 16-byte block (len(src) >=
// len(dst)), in 64-bit words: the CBC chaining step, inlined, which
// subtle.XORBytes is not.
func xorBlock(dst, src []byte) {
	_ = src[len(dst)-1]
	for i := 0; i+8 <= len(dst); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(dst[i:])^binary.LittleEndian.Uint64(src[i:]))
	}
}
