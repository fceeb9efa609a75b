package sm

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/padding"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// symVectors is testdata/symmetric.json: the symmetric vectors of ssc-facts
// §7 and §3.2 plus public and OpenSSL-computed ones (each says its source).
type symVectors struct {
	SM4 []struct {
		Name, Key, Plain, Cipher string
		Iterations               int
	}
	SM3 []struct {
		Name, Msg, Digest string
	}
	Block []struct {
		Name, Alg, Mode, Key, IV, Plain, Cipher string
	}
	MAC []struct {
		Name, Alg, Key, IV, Data, Padding, Final, MAC string
	}
	Diversify []struct {
		Name, Alg, Key, Out string
		Factors             []string
	}
	SessionTDES []struct {
		Name, Key, Out string
		ATC            uint16
	} `json:"session_tdes"`
	PKIPIN []struct {
		Name, PIN, Challenge, Cryptogram string
	} `json:"pkipin"`
}

var (
	symVectorsOnce sync.Once
	symVectorsData symVectors
	symVectorsErr  error
)

func loadSymVectors(t testing.TB) *symVectors {
	t.Helper()
	symVectorsOnce.Do(func() {
		b, err := os.ReadFile("testdata/symmetric.json")
		if err != nil {
			symVectorsErr = err
			return
		}
		symVectorsErr = json.Unmarshal(b, &symVectorsData)
	})
	if symVectorsErr != nil {
		t.Fatal(symVectorsErr)
	}
	return &symVectorsData
}

// symData decodes a vector's data field; "range256" is the bytes 00..FF.
func symData(t testing.TB, s string) []byte {
	if s == "range256" {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}
	return unhex(t, s)
}

func symPadding(t testing.TB, s string) Padding {
	switch s {
	case "M2":
		return PadISO9797M2
	case "M2Opt":
		return PadISO9797M2Opt
	case "None":
		return PadNone
	}
	t.Fatalf("unknown padding %q", s)
	return 0
}

// symBlock builds a cipher of a vector through the standard constructors,
// not this package's.
func symStdBlock(t testing.TB, alg string, key []byte) cipher.Block {
	t.Helper()
	var b cipher.Block
	var err error
	switch alg {
	case "SM4", "PKI":
		b, err = sm4.NewCipher(key)
	case "DES":
		b, err = des.NewCipher(key)
	case "TDES":
		if len(key) == 16 {
			key = append(append([]byte(nil), key...), key[:8]...)
		}
		b, err = des.NewTripleDESCipher(key)
	default:
		t.Fatalf("unknown algorithm %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSM4Vectors(t *testing.T) {
	for _, v := range loadSymVectors(t).SM4 {
		t.Run(v.Name, func(t *testing.T) {
			if v.Iterations > 1 && testing.Short() {
				t.Skip("1,000,000 SM4 blocks: skipped in -short mode")
			}
			b, err := NewSM4(unhex(t, v.Key))
			if err != nil {
				t.Fatal(err)
			}
			buf := unhex(t, v.Plain)
			for range v.Iterations {
				b.Encrypt(buf, buf)
			}
			if want := unhex(t, v.Cipher); !bytes.Equal(buf, want) {
				t.Errorf("after %d encryptions: %X, want %X", v.Iterations, buf, want)
			}
		})
	}
}

func TestSM3Vectors(t *testing.T) {
	for _, v := range loadSymVectors(t).SM3 {
		got := sm3.Sum(unhex(t, v.Msg))
		if want := unhex(t, v.Digest); !bytes.Equal(got[:], want) {
			t.Errorf("%s: SM3 = %X, want %X", v.Name, got, want)
		}
	}
}

func TestBlockVectors(t *testing.T) {
	for _, v := range loadSymVectors(t).Block {
		t.Run(v.Name, func(t *testing.T) {
			key, plain, want := unhex(t, v.Key), unhex(t, v.Plain), unhex(t, v.Cipher)
			var b cipher.Block
			var err error
			switch v.Alg {
			case "SM4":
				b, err = NewSM4(key)
			case "DES":
				b, err = NewDES(key)
			case "TDES":
				b, err = NewTDES(key)
			}
			if err != nil {
				t.Fatal(err)
			}
			var enc, dec []byte
			var encErr, decErr error
			if v.Mode == "ECB" {
				enc, encErr = EncryptECB(b, plain)
				dec, decErr = DecryptECB(b, want)
			} else {
				iv := unhex(t, v.IV)
				enc, encErr = EncryptCBC(b, iv, plain)
				dec, decErr = DecryptCBC(b, iv, want)
				// The standard library's CBC over the standard cipher agrees.
				std := make([]byte, len(plain))
				cipher.NewCBCEncrypter(symStdBlock(t, v.Alg, key), iv).CryptBlocks(std, plain)
				if !bytes.Equal(std, want) {
					t.Errorf("crypto/cipher CBC = %X, want %X", std, want)
				}
			}
			if encErr != nil || decErr != nil {
				t.Fatal(encErr, decErr)
			}
			if !bytes.Equal(enc, want) {
				t.Errorf("encrypt = %X, want %X", enc, want)
			}
			if !bytes.Equal(dec, plain) {
				t.Errorf("decrypt = %X, want %X", dec, plain)
			}
		})
	}
}

// refMACFinal computes a MAC vector's final block with the standard
// library's CBC over the data padded by gmsm's padding package (or not at
// all): a path independent of CBCMAC.
func refMACFinal(t testing.TB, alg string, key, iv, data []byte, pad Padding) []byte {
	t.Helper()
	bs := 16
	if alg == "RETAIL" || alg == "TDES" {
		bs = 8
	}
	padded := append([]byte(nil), data...)
	switch {
	case pad == PadISO9797M2, len(data)%bs != 0, len(data) == 0:
		padded = padding.NewISO9797M2Padding(uint(bs)).Pad(padded)
	}
	fullIV := make([]byte, bs)
	copy(fullIV, iv)
	ct := make([]byte, len(padded))
	switch alg {
	case "RETAIL":
		// DES-CBC under the left key over all blocks, then the output
		// transformation of MAC algorithm 3: decrypt with KR, encrypt with KL.
		kl, _ := des.NewCipher(key[:8])
		kr, _ := des.NewCipher(key[8:16])
		cipher.NewCBCEncrypter(kl, fullIV).CryptBlocks(ct, padded)
		h := ct[len(ct)-bs:]
		kr.Decrypt(h, h)
		kl.Encrypt(h, h)
		return h
	default:
		cipher.NewCBCEncrypter(symStdBlock(t, alg, key), fullIV).CryptBlocks(ct, padded)
		return ct[len(ct)-bs:]
	}
}

func newVectorMAC(t testing.TB, alg string, key []byte, pad Padding) *CBCMAC {
	t.Helper()
	var m *CBCMAC
	var err error
	switch alg {
	case "SM4":
		m, err = NewSM4MAC(key, pad)
	case "PKI":
		if pad != PadISO9797M2 {
			t.Fatalf("PKI MAC vectors use M2")
		}
		m, err = NewPKIMAC(key)
	case "RETAIL":
		m, err = NewRetailMAC(key, pad)
	case "TDES":
		m, err = NewTDESMAC(key, pad)
	default:
		t.Fatalf("unknown MAC %q", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMACVectors(t *testing.T) {
	for _, v := range loadSymVectors(t).MAC {
		t.Run(v.Name, func(t *testing.T) {
			key, iv, data := unhex(t, v.Key), unhex(t, v.IV), symData(t, v.Data)
			pad := symPadding(t, v.Padding)
			m := newVectorMAC(t, v.Alg, key, pad)
			final, err := m.Sum(nil, iv, data)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, v.Final); !bytes.Equal(final, want) {
				t.Errorf("final block = %X, want %X", final, want)
			}
			if ref := refMACFinal(t, v.Alg, key, iv, data, pad); !bytes.Equal(final, ref) {
				t.Errorf("final block = %X, crypto/cipher reference gives %X", final, ref)
			}
			mac, err := m.MAC(iv, data)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, v.MAC); !bytes.Equal(mac[:], want) {
				t.Errorf("MAC = %X, want %X", mac, want)
			}
		})
	}
}

// TestMACVectorsGmsmCBCMAC recomputes the M2 vectors with gmsm's own cbcmac
// package (no IV support there: the IV is folded into the first block).
func TestMACVectorsGmsmCBCMAC(t *testing.T) {
	for _, v := range loadSymVectors(t).MAC {
		if v.Padding != "M2" {
			continue
		}
		key, iv, data := unhex(t, v.Key), unhex(t, v.IV), symData(t, v.Data)
		var g cbcmac.BlockCipherMAC
		switch v.Alg {
		case "RETAIL":
			g = cbcmac.NewANSIRetailMAC(des.NewCipher, key[:8], key[8:], 8)
		default:
			b := symStdBlock(t, v.Alg, key)
			g = cbcmac.NewCBCMAC(b, b.BlockSize())
		}
		in := append([]byte(nil), data...)
		if len(iv) > 0 {
			if len(in) < len(iv) {
				t.Fatalf("%s: IV longer than the data", v.Name)
			}
			for i := range iv {
				in[i] ^= iv[i]
			}
		}
		if got, want := g.MAC(in), unhex(t, v.Final); !bytes.Equal(got, want) {
			t.Errorf("%s: gmsm cbcmac = %X, want %X", v.Name, got, want)
		}
	}
}

func TestDiversifyVectors(t *testing.T) {
	for _, v := range loadSymVectors(t).Diversify {
		t.Run(v.Name, func(t *testing.T) {
			key, want := unhex(t, v.Key), unhex(t, v.Out)
			var factors [][]byte
			for _, f := range v.Factors {
				factors = append(factors, unhex(t, f))
			}
			var got [16]byte
			var err error
			if v.Alg == "SM4" {
				got, err = DiversifySM4(key, factors...)
			} else {
				got, err = DiversifyTDES(key, factors...)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:], want) {
				t.Errorf("= %X, want %X", got, want)
			}
			// The same through the standard ciphers, level by level.
			k := key
			for _, f := range factors {
				in := withComplement(f)
				out := make([]byte, 16)
				b := symStdBlock(t, v.Alg, k)
				for i := 0; i < 16; i += b.BlockSize() {
					b.Encrypt(out[i:], in[i:])
				}
				k = out
			}
			if !bytes.Equal(k, want) {
				t.Errorf("standard ciphers give %X, want %X", k, want)
			}
		})
	}
}

func TestSessionKeyTDESVectors(t *testing.T) {
	for _, v := range loadSymVectors(t).SessionTDES {
		got, err := SessionKeyTDES(unhex(t, v.Key), v.ATC)
		if err != nil {
			t.Fatal(err)
		}
		if want := unhex(t, v.Out); !bytes.Equal(got[:], want) {
			t.Errorf("%s: SessionKeyTDES = %X, want %X", v.Name, got, want)
		}
	}
}

func TestPKIPINVectors(t *testing.T) {
	for _, v := range loadSymVectors(t).PKIPIN {
		t.Run(v.Name, func(t *testing.T) {
			ch := unhex(t, v.Challenge)
			got, err := PKIPINCryptogram(v.PIN, ch)
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, v.Cryptogram)
			if !bytes.Equal(got[:], want) {
				t.Errorf("PKIPINCryptogram = %X, want %X", got, want)
			}
			// Directly: SM4_ECB(SM3(BCD)[0:16], challenge || 00…).
			bcd := unhex(t, strings.Repeat("0", len(v.PIN)%2)+v.PIN)
			sum := sm3.Sum(bcd)
			in := make([]byte, 16)
			copy(in, ch)
			if direct := sm4Block(t, sum[:16], in); !bytes.Equal(direct, want) {
				t.Errorf("gmsm directly gives %X, want %X", direct, want)
			}
		})
	}
}
