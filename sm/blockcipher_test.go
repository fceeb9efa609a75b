package sm

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"testing"
)

func TestBlockCipherErrors(t *testing.T) {
	sm4b, err := NewSM4(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	desb, err := NewTDES(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fn   func() error
	}{
		{"SM4 15-byte key", func() error { _, err := NewSM4(make([]byte, 15)); return err }},
		{"SM4 nil key", func() error { _, err := NewSM4(nil); return err }},
		{"SM4 24-byte key", func() error { _, err := NewSM4(make([]byte, 24)); return err }},
		{"3DES 8-byte key", func() error { _, err := NewTDES(make([]byte, 8)); return err }},
		{"3DES 17-byte key", func() error { _, err := NewTDES(make([]byte, 17)); return err }},
		{"DES 16-byte key", func() error { _, err := NewDES(make([]byte, 16)); return err }},
		{"ECB empty", func() error { _, err := EncryptECB(sm4b, nil); return err }},
		{"ECB 15 bytes", func() error { _, err := EncryptECB(sm4b, make([]byte, 15)); return err }},
		{"ECB 8 bytes SM4", func() error { _, err := DecryptECB(sm4b, make([]byte, 8)); return err }},
		{"ECB 12 bytes 3DES", func() error { _, err := EncryptECB(desb, make([]byte, 12)); return err }},
		{"CBC 17 bytes", func() error { _, err := EncryptCBC(sm4b, nil, make([]byte, 17)); return err }},
		{"CBC 8-byte IV for SM4", func() error { _, err := EncryptCBC(sm4b, make([]byte, 8), make([]byte, 16)); return err }},
		{"CBC 16-byte IV for 3DES", func() error { _, err := DecryptCBC(desb, make([]byte, 16), make([]byte, 16)); return err }},
	}
	for _, tt := range tests {
		if err := tt.fn(); !errors.Is(err, ErrLength) {
			t.Errorf("%s: err = %v, want ErrLength", tt.name, err)
		}
	}
	for _, fn := range []func() error{
		func() error { _, err := EncryptECB(nil, make([]byte, 16)); return err },
		func() error { _, err := DecryptCBC(nil, nil, make([]byte, 16)); return err },
	} {
		if err := fn(); err == nil {
			t.Error("nil block: no error")
		}
	}
}

func TestBlockCipherRoundTrip(t *testing.T) {
	keys := map[string]func([]byte) (cipher.Block, error){"SM4": NewSM4, "3DES": NewTDES}
	for name, newBlock := range keys {
		b, err := newBlock(bytes.Repeat([]byte{0x5A}, 16))
		if err != nil {
			t.Fatal(err)
		}
		bs := b.BlockSize()
		for _, n := range []int{1, 2, 7, 8, 9, 64} {
			src := bytes.Repeat([]byte{byte(n)}, n*bs)
			for _, mode := range []string{"ECB", "CBC"} {
				var enc, dec []byte
				if mode == "ECB" {
					enc, _ = EncryptECB(b, src)
					dec, err = DecryptECB(b, enc)
				} else {
					enc, _ = EncryptCBC(b, nil, src)
					dec, err = DecryptCBC(b, make([]byte, bs), enc)
				}
				if err != nil || !bytes.Equal(dec, src) {
					t.Errorf("%s %s %d blocks: round trip failed (%v)", name, mode, n, err)
				}
				if bytes.Equal(enc, src) {
					t.Errorf("%s %s %d blocks: ciphertext equals plaintext", name, mode, n)
				}
			}
		}
	}
}

// TestECBSingleBlockAllocs pins the single-block fast path: only the result
// is allocated.
func TestECBSingleBlockAllocs(t *testing.T) {
	b, _ := NewSM4(make([]byte, 16))
	src := make([]byte, 16)
	if n := testing.AllocsPerRun(100, func() { _, _ = EncryptECB(b, src) }); n > 1 {
		t.Errorf("EncryptECB of one block: %v allocations, want 1", n)
	}
}

func ExampleEncryptECB() {
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	b, err := NewSM4(key)
	if err != nil {
		panic(err)
	}
	ct, err := EncryptECB(b, key) // GB/T 32907 example: key = plaintext
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X\n", ct)
	// Output: 681EDF34D206965E86B3E94F536E4246
}

func ExampleNewTDES() {
	// A 2-key 3DES card key K1 || K2, used as K1 K2 K1.
	b, err := NewTDES([]byte("0123456789abcdef"))
	if err != nil {
		panic(err)
	}
	ct, err := EncryptCBC(b, nil, []byte("8 bytes!"))
	if err != nil {
		panic(err)
	}
	pt, err := DecryptCBC(b, nil, ct)
	fmt.Println(len(ct), string(pt), err)
	// Output: 8 8 bytes! <nil>
}

func BenchmarkSM4Block(b *testing.B) {
	c, _ := NewSM4(make([]byte, 16))
	var buf [16]byte
	b.SetBytes(16)
	b.ReportAllocs()
	for b.Loop() {
		c.Encrypt(buf[:], buf[:])
	}
}

func BenchmarkEncryptECB(b *testing.B) {
	c, _ := NewSM4(make([]byte, 16))
	for _, n := range []int{16, 256, 4096} {
		src := make([]byte, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncryptECB(c, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncryptCBC(b *testing.B) {
	sm4c, _ := NewSM4(make([]byte, 16))
	tdes, _ := NewTDES(make([]byte, 24))
	for _, c := range []struct {
		name string
		b    cipher.Block
	}{{"SM4", sm4c}, {"3DES", tdes}} {
		for _, n := range []int{16, 256, 4096} {
			src := make([]byte, n)
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := EncryptCBC(c.b, nil, src); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
