package sm

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/padding"
	"github.com/emmansun/gmsm/sm4"
)

var symKey16 = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}

func TestPaddingAppend(t *testing.T) {
	for _, bs := range []int{8, 16} {
		gm := padding.NewISO9797M2Padding(uint(bs))
		for _, n := range []int{0, 1, bs - 1, bs, bs + 1, 2 * bs} {
			data := bytes.Repeat([]byte{0xA5}, n)
			m2 := gm.Pad(append([]byte(nil), data...))
			tests := []struct {
				pad     Padding
				want    []byte
				wantErr bool
			}{
				{PadISO9797M2, m2, false},
				{PadISO9797M2Opt, map[bool][]byte{true: data, false: m2}[n > 0 && n%bs == 0], false},
				{PadNone, data, n == 0 || n%bs != 0},
			}
			for _, tt := range tests {
				prefix := []byte{0xEE}
				got, err := tt.pad.Append(prefix, data, bs)
				if tt.wantErr {
					if !errors.Is(err, ErrLength) {
						t.Errorf("%v bs %d n %d: err = %v, want ErrLength", tt.pad, bs, n, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, append([]byte{0xEE}, tt.want...)) {
					t.Errorf("%v bs %d n %d: Append = %X, %v; want EE%X", tt.pad, bs, n, got, err, tt.want)
				}
			}
		}
	}
	if _, err := Padding(9).Append(nil, nil, 16); err == nil {
		t.Error("unknown padding: no error")
	}
	if _, err := PadISO9797M2.Append(nil, nil, 0); !errors.Is(err, ErrLength) {
		t.Errorf("block size 0: err = %v", err)
	}
	for p, want := range map[Padding]string{PadISO9797M2: "ISO9797-1 M2", PadNone: "none", Padding(7): "Padding(7)"} {
		if p.String() != want {
			t.Errorf("String() = %q, want %q", p.String(), want)
		}
	}
}

// TestPKIFoldVectorPadding pins what the §3.2 vector says about padding:
// 84D4010024 || 00×32 is 37 bytes, so method 2 with or without the
// aligned-input block gives the same 48-byte input and the published final
// block; zero padding (ISO 9797-1 method 1) does not.
func TestPKIFoldVectorPadding(t *testing.T) {
	data := append(unhex(t, "84D4010024"), make([]byte, 32)...)
	const final, folded = "498BA4E09AB7896B9E86F2D64EB27E49", "0308A114"
	b, _ := NewSM4(symKey16)
	for _, pad := range []Padding{PadISO9797M2, PadISO9797M2Opt} {
		m, err := NewCBCMAC(b, pad, MACXORFold)
		if err != nil {
			t.Fatal(err)
		}
		sum, _ := m.Sum(nil, nil, data)
		mac, _ := m.MAC(nil, data)
		if !bytes.Equal(sum, unhex(t, final)) || !bytes.Equal(mac[:], unhex(t, folded)) {
			t.Errorf("%v: final %X MAC %X, want %s %s", pad, sum, mac, final, folded)
		}
		left, _ := NewCBCMAC(b, pad, MACLeft)
		if l, _ := left.MAC(nil, data); !bytes.Equal(l[:], unhex(t, final[:8])) {
			t.Errorf("%v: left-4 MAC %X, want %s", pad, l, final[:8])
		}
	}
	zero := append(append([]byte(nil), data...), make([]byte, 11)...)
	m, _ := NewCBCMAC(b, PadNone, MACXORFold)
	if sum, _ := m.Sum(nil, nil, zero); bytes.Equal(sum, unhex(t, final)) {
		t.Error("zero padding also reproduces the vector")
	}
}

func TestMACIV(t *testing.T) {
	data := []byte("some command bytes")
	sm4m, _ := NewSM4MAC(symKey16, PadISO9797M2)
	retail, _ := NewRetailMAC(symKey16, PadISO9797M2)
	for _, m := range []*CBCMAC{sm4m, retail} {
		bs := m.BlockSize()
		zero, err := m.MAC(make([]byte, bs), data)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := m.MAC(nil, data); got != zero {
			t.Errorf("bs %d: nil IV %X, zero IV %X", bs, got, zero)
		}
		short := []byte{1, 2, 3, 4}
		full := make([]byte, bs)
		copy(full, short)
		a, err1 := m.MAC(short, data)
		b, err2 := m.MAC(full, data)
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("bs %d: short IV %X (%v), padded IV %X (%v)", bs, a, err1, b, err2)
		}
		if a == zero {
			t.Errorf("bs %d: IV ignored", bs)
		}
		if _, err := m.MAC(make([]byte, bs+1), data); !errors.Is(err, ErrLength) {
			t.Errorf("bs %d: long IV: err = %v", bs, err)
		}
		if _, err := m.Sum(nil, make([]byte, bs+1), data); !errors.Is(err, ErrLength) {
			t.Errorf("bs %d: Sum long IV: err = %v", bs, err)
		}
	}
}

type fourByteBlock struct{}

func (fourByteBlock) BlockSize() int          { return 4 }
func (fourByteBlock) Encrypt(dst, src []byte) { copy(dst, src) }
func (fourByteBlock) Decrypt(dst, src []byte) { copy(dst, src) }

func TestMACErrors(t *testing.T) {
	b, _ := NewSM4(symKey16)
	none, _ := NewSM4MAC(symKey16, PadNone)
	tests := []struct {
		name   string
		fn     func() error
		length bool // wraps ErrLength
	}{
		{"nil block", func() error { _, err := NewCBCMAC(nil, PadISO9797M2, MACLeft); return err }, false},
		{"4-byte block", func() error { _, err := NewCBCMAC(fourByteBlock{}, PadISO9797M2, MACLeft); return err }, true},
		{"unknown padding", func() error { _, err := NewCBCMAC(b, Padding(-1), MACLeft); return err }, false},
		{"unknown output", func() error { _, err := NewCBCMAC(b, PadNone, MACOutput(2)); return err }, false},
		{"SM4 MAC 8-byte key", func() error { _, err := NewSM4MAC(symKey16[:8], PadISO9797M2); return err }, true},
		{"PKI MAC 24-byte key", func() error { _, err := NewPKIMAC(make([]byte, 24)); return err }, true},
		{"retail 24-byte key", func() error { _, err := NewRetailMAC(make([]byte, 24), PadISO9797M2); return err }, true},
		{"retail 8-byte key", func() error { _, err := NewRetailMAC(make([]byte, 8), PadISO9797M2); return err }, true},
		{"3DES MAC 8-byte key", func() error { _, err := NewTDESMAC(make([]byte, 8), PadISO9797M2); return err }, true},
		{"PadNone unaligned", func() error { _, err := none.MAC(nil, make([]byte, 17)); return err }, true},
		{"PadNone empty", func() error { _, err := none.MAC(nil, nil); return err }, true},
		{"PadNone Sum unaligned", func() error { _, err := none.Sum(nil, nil, make([]byte, 5)); return err }, true},
	}
	for _, tt := range tests {
		err := tt.fn()
		if err == nil || errors.Is(err, ErrLength) != tt.length {
			t.Errorf("%s: err = %v (want ErrLength: %v)", tt.name, err, tt.length)
		}
	}
}

// TestMACOptAlignedDiffers: the two method-2 variants agree on unaligned
// input and differ on aligned input.
func TestMACOptAlignedDiffers(t *testing.T) {
	for _, newMAC := range []func([]byte, Padding) (*CBCMAC, error){NewSM4MAC, NewRetailMAC, NewTDESMAC} {
		m2, _ := newMAC(symKey16, PadISO9797M2)
		opt, _ := newMAC(symKey16, PadISO9797M2Opt)
		bs := m2.BlockSize()
		for _, n := range []int{0, 3, bs, bs + 5, 4 * bs} {
			data := bytes.Repeat([]byte{0x3C}, n)
			a, _ := m2.MAC(nil, data)
			b, _ := opt.MAC(nil, data)
			if aligned := n > 0 && n%bs == 0; (a == b) == aligned {
				t.Errorf("bs %d n %d: M2 %X, M2Opt %X", bs, n, a, b)
			}
		}
	}
}

func TestMACAllocs(t *testing.T) {
	m, _ := NewSM4MAC(symKey16, PadISO9797M2)
	data, iv := make([]byte, 256), make([]byte, 16)
	if n := testing.AllocsPerRun(100, func() { _, _ = m.MAC(iv, data) }); n > 1 {
		t.Errorf("SM4 MAC of 256 bytes: %v allocations, want at most 1", n)
	}
	dst := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() { _, _ = m.Sum(dst, iv, data) }); n > 1 {
		t.Errorf("SM4 Sum into a buffer: %v allocations, want at most 1", n)
	}
}

func TestMACConcurrent(t *testing.T) {
	m, _ := NewPKIMAC(symKey16)
	data := bytes.Repeat([]byte{7}, 100)
	want, _ := m.MAC(nil, data)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if got, _ := m.MAC(nil, data); got != want {
					t.Errorf("concurrent MAC %X, want %X", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzCBCMAC compares CBCMAC with gmsm's cbcmac (SM4, method 2) and a
// crypto/cipher composition (retail MAC, both method-2 variants) on any
// input, and checks it never panics.
func FuzzCBCMAC(f *testing.F) {
	f.Add([]byte("84D4010024"), []byte{}, uint8(0))
	f.Add(make([]byte, 32), bytes.Repeat([]byte{0xFF}, 16), uint8(1))
	f.Add([]byte{}, []byte{1}, uint8(2))
	sm4m2, _ := NewSM4MAC(symKey16, PadISO9797M2)
	sm4opt, _ := NewSM4MAC(symKey16, PadISO9797M2Opt)
	retail, _ := NewRetailMAC(symKey16, PadISO9797M2)
	retailOpt, _ := NewRetailMAC(symKey16, PadISO9797M2Opt)
	gb, _ := sm4.NewCipher(symKey16)
	g := cbcmac.NewCBCMAC(gb, 16)
	f.Fuzz(func(t *testing.T, data, iv []byte, sel uint8) {
		var m *CBCMAC
		switch sel % 4 {
		case 0:
			m = sm4m2
		case 1:
			m = sm4opt
		case 2:
			m = retail
		default:
			m = retailOpt
		}
		sum, err := m.Sum(nil, iv, data)
		if len(iv) > m.BlockSize() {
			if !errors.Is(err, ErrLength) {
				t.Fatalf("IV of %d bytes: err = %v", len(iv), err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		alg := map[int]string{8: "RETAIL", 16: "SM4"}[m.BlockSize()]
		if ref := refMACFinal(t, alg, symKey16, iv, data, m.pad); !bytes.Equal(sum, ref) {
			t.Fatalf("Sum = %X, reference %X", sum, ref)
		}
		if m == sm4m2 && len(iv) == 0 {
			if ref := g.MAC(data); !bytes.Equal(sum, ref) {
				t.Fatalf("Sum = %X, gmsm cbcmac %X", sum, ref)
			}
		}
		if mac, _ := m.MAC(iv, data); !bytes.Equal(mac[:], sum[:MACSize]) {
			t.Fatalf("MAC %X is not the left of %X", mac, sum)
		}
	})
}

func ExampleNewPKIMAC() {
	// ssc-facts §3.2: key 0123…3210, IV zero, command 84 D4 01 00 24 with
	// 32 zero bytes; a card would take the IV from GET CHALLENGE 00 84 00 00 10.
	m, err := NewPKIMAC(symKey16)
	if err != nil {
		panic(err)
	}
	cmd := append([]byte{0x84, 0xD4, 0x01, 0x00, 0x24}, make([]byte, 32)...)
	final, _ := m.Sum(nil, nil, cmd)
	mac, _ := m.MAC(nil, cmd)
	fmt.Printf("final block %X\nMAC (XOR fold) %X\n", final, mac)
	// Output:
	// final block 498BA4E09AB7896B9E86F2D64EB27E49
	// MAC (XOR fold) 0308A114
}

func ExampleNewRetailMAC() {
	// ISO/IEC 9797-1 MAC algorithm 3, 'Now is the time for all ', no
	// padding needed (24 bytes), zero IV.
	m, err := NewRetailMAC(symKey16, PadISO9797M2Opt)
	if err != nil {
		panic(err)
	}
	mac, _ := m.MAC(nil, []byte("Now is the time for all "))
	fmt.Printf("%X\n", mac)
	// Output: A1C72E74
}

func benchSymMAC(b *testing.B, m MACer, iv []byte, n int) {
	data := make([]byte, n)
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.MAC(iv, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSM4MAC(b *testing.B) {
	m, _ := NewSM4MAC(symKey16, PadISO9797M2)
	for _, n := range []int{16, 256, 4096} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchSymMAC(b, m, nil, n) })
	}
	opt, _ := NewSM4MAC(symKey16, PadISO9797M2Opt)
	b.Run("256-opt", func(b *testing.B) { benchSymMAC(b, opt, nil, 256) })
}

func BenchmarkRetailMAC256(b *testing.B) {
	m, _ := NewRetailMAC(symKey16, PadISO9797M2)
	benchSymMAC(b, m, make([]byte, 8), 256)
}

func BenchmarkPKIMAC256(b *testing.B) {
	m, _ := NewPKIMAC(symKey16)
	benchSymMAC(b, m, make([]byte, 16), 256)
}

// BenchmarkGmsmCBCMAC256 is gmsm's own cbcmac for comparison (no IV; it
// copies the padded input per call).
func BenchmarkGmsmCBCMAC256(b *testing.B) {
	c, _ := sm4.NewCipher(symKey16)
	var m cbcmac.BlockCipherMAC = cbcmac.NewCBCMAC(c, 16)
	data := make([]byte, 256)
	b.SetBytes(256)
	b.ReportAllocs()
	for b.Loop() {
		m.MAC(data)
	}
}

var _ cipher.Block = fourByteBlock{}
