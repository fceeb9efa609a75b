package sm

import "fmt"

// Key diversification as Chinese CPU cards and PSAMs do it: each level
// encrypts an 8-byte factor D and its complement ~D under the current key,
// and the 16-byte result is the key of the next level. Master key → (city,
// province …) → card key is a chain of levels; the session ("process") key
// is one more level with the card's challenge as the factor.

// Diversify derives a child key from a 16-byte SM4 key and an 8-byte
// factor: SM4_ECB(key, F || ^F), the usual Chinese CPU-card diversification
// with the factor and its bitwise complement. It is DiversifySM4 with one
// level.
func Diversify(key []byte, factor []byte) ([16]byte, error) {
	return DiversifySM4(key, factor)
}

// DiversifySM4 applies one SM4 diversification level per factor, in order:
// K' = SM4_ECB(K, D || ~D), each D 8 bytes. With no factors it returns the
// key itself. A key other than 16 bytes, or a factor other than 8 bytes,
// gives an error wrapping ErrLength.
func DiversifySM4(key []byte, factors ...[]byte) ([16]byte, error) {
	var k [16]byte
	if len(key) != KeySize {
		return k, fmt.Errorf("%w: SM4 key is %d bytes, want %d", ErrLength, len(key), KeySize)
	}
	copy(k[:], key)
	for _, f := range factors {
		in, err := factorBlock(f)
		if err != nil {
			return [16]byte{}, err
		}
		b, err := NewSM4(k[:])
		if err != nil {
			return [16]byte{}, err
		}
		b.Encrypt(k[:], in[:])
	}
	return k, nil
}

// DiversifyTDES applies one 3DES diversification level per factor, as PBOC
// and PSAM key hierarchies do: K' = 3DES_ECB(K, D) || 3DES_ECB(K, ~D), each
// D 8 bytes. The first key is 16 or 24 bytes; every derived key is a 16-byte
// 2-key 3DES key. With no factors it returns the key itself, which must then
// be 16 bytes. Wrong sizes give an error wrapping ErrLength.
func DiversifyTDES(key []byte, factors ...[]byte) ([16]byte, error) {
	var k [16]byte
	if len(factors) == 0 {
		if len(key) != TDES2KeySize {
			return k, fmt.Errorf("%w: 3DES key is %d bytes, want %d", ErrLength, len(key), TDES2KeySize)
		}
		copy(k[:], key)
		return k, nil
	}
	cur := key
	for _, f := range factors {
		in, err := factorBlock(f)
		if err != nil {
			return [16]byte{}, err
		}
		b, err := NewTDES(cur)
		if err != nil {
			return [16]byte{}, err
		}
		b.Encrypt(k[:DESBlockSize], in[:DESBlockSize])
		b.Encrypt(k[DESBlockSize:], in[DESBlockSize:])
		cur = k[:]
	}
	return k, nil
}

// factorBlock returns D || ~D for an 8-byte factor D.
func factorBlock(f []byte) ([16]byte, error) {
	var in [16]byte
	if len(f) != FactorSize {
		return in, fmt.Errorf("%w: factor is %d bytes, want %d", ErrLength, len(f), FactorSize)
	}
	for i, b := range f {
		in[i] = b
		in[i+FactorSize] = ^b
	}
	return in, nil
}

// ProcessKeySM4 derives the SM4 process (session) key from a card key and
// an 8-byte process factor, normally the card's challenge:
// SM4_ECB(K, F || ~F) (sim-profile §1). It is one DiversifySM4 level.
func ProcessKeySM4(cardKey, factor []byte) ([16]byte, error) {
	return DiversifySM4(cardKey, factor)
}

// ProcessKeyTDES is the 3DES counterpart of ProcessKeySM4:
// 3DES_ECB(K, F) || 3DES_ECB(K, ~F), one DiversifyTDES level.
func ProcessKeyTDES(cardKey, factor []byte) ([16]byte, error) {
	return DiversifyTDES(cardKey, factor)
}

// SessionKeyTDES derives the PBOC debit/credit session key from a 16-byte
// card (UDK) key and the 2-byte application transaction counter:
// left = 3DES_ECB(K, 00×6 || ATC), right = 3DES_ECB(K, 00×6 || ~ATC).
// Only the ATC is complemented, not the zero bytes, so this differs from a
// DiversifyTDES level with factor 00×6 || ATC.
func SessionKeyTDES(key []byte, atc uint16) ([16]byte, error) {
	var out [16]byte
	if len(key) != TDES2KeySize {
		return out, fmt.Errorf("%w: 3DES key is %d bytes, want %d", ErrLength, len(key), TDES2KeySize)
	}
	b, err := NewTDES(key)
	if err != nil {
		return out, err
	}
	var in [16]byte
	in[6], in[7] = byte(atc>>8), byte(atc)
	in[14], in[15] = ^byte(atc>>8), ^byte(atc)
	b.Encrypt(out[:DESBlockSize], in[:DESBlockSize])
	b.Encrypt(out[DESBlockSize:], in[DESBlockSize:])
	return out, nil
}
