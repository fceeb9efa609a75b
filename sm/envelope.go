package sm

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
)

// The enveloped encryption key pair of the PKI application
// (docs/issuance.md, "The encryption key pair and certificate — the
// contract"): the CA's JMMY, a GM/T 0016 ENVELOPEDKEYBLOB of 388 bytes,
// 32-bit fields little-endian (SIM byte order, as the Windows SKF libraries
// write them):
//
//	  0   4  Version            1
//	  4   4  ulSymmAlgID        0x00000401 (SGD_SM4_ECB)
//	  8   4  ulBits             256
//	 12  64  cbEncryptedPriKey  32 × 00 || SM4_ECB(session key, d)
//	 76   4  PubKey.BitLen      256
//	 80  64  PubKey.X           32 × 00 || X
//	144  64  PubKey.Y           32 × 00 || Y
//	208  64  ECCCipherBlob.X    32 × 00 || C1.x
//	272  64  ECCCipherBlob.Y    32 × 00 || C1.y
//	336  32  ECCCipherBlob.HASH C3
//	368   4  CipherLen          16
//	372  16  Cipher             C2
//
// The 16-byte session key is SM2-encrypted (GM/T 0003, C1 || C3 || C2,
// default KDF) to the card's signing public key.

// Sizes and constants of the ENVELOPEDKEYBLOB.
const (
	EnvelopedKeySize        = 388        // the whole blob
	EnvelopedKeyVersion     = 1          // Version
	EnvelopedKeySymmAlg     = 0x00000401 // ulSymmAlgID: SGD_SM4_ECB
	EnvelopedKeyBits        = 256        // ulBits and PubKey.BitLen
	EnvelopedSessionKeySize = 16         // the SM4 session key (CipherLen)
	// EnvelopedCipherBlockSize is C1.x || C1.y || C3 || C2, the data of
	// the card command 80 4E (tag C1, length 0070).
	EnvelopedCipherBlockSize = 2*SM2CoordinateSize + 32 + EnvelopedSessionKeySize
)

// ErrEnvelopedKey is wrapped by every error about an enveloped key blob:
// its encoding (ParseEnvelopedKey) and its opening (a wrong recipient key,
// a private key that does not match the public key).
var ErrEnvelopedKey = errors.New("sm: invalid enveloped key blob")

// EnvelopedKeyError is the error of ParseEnvelopedKey and of the opening
// functions: the field at fault, its offset in the blob (-1 when not
// about one field), and the cause. It wraps ErrEnvelopedKey and Err.
type EnvelopedKeyError struct {
	Field  string
	Offset int
	Err    error
}

func (e *EnvelopedKeyError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%v: %s (offset %d): %v", ErrEnvelopedKey, e.Field, e.Offset, e.Err)
	}
	return fmt.Sprintf("%v: %s: %v", ErrEnvelopedKey, e.Field, e.Err)
}

// Unwrap returns ErrEnvelopedKey and the cause.
func (e *EnvelopedKeyError) Unwrap() []error { return []error{ErrEnvelopedKey, e.Err} }

func envErr(field string, off int, format string, args ...any) error {
	return &EnvelopedKeyError{Field: field, Offset: off, Err: fmt.Errorf(format, args...)}
}

// Offsets of the blob's fields.
const (
	envOffVersion = 0
	envOffAlg     = 4
	envOffBits    = 8
	envOffPriv    = 12
	envOffPubBits = 76
	envOffPubX    = 80
	envOffPubY    = 144
	envOffC1X     = 208
	envOffC1Y     = 272
	envOffC3      = 336
	envOffCLen    = 368
	envOffC2      = 372
)

// EnvelopedKey is a parsed ENVELOPEDKEYBLOB: an SM2 key pair whose private
// key is SM4-ECB-encrypted under a session key, itself SM2-encrypted to the
// recipient (the card's signing key).
type EnvelopedKey struct {
	// EncryptedPrivateKey is SM4_ECB(session key, d), d 32 bytes big-endian.
	EncryptedPrivateKey [32]byte
	// PublicKey is the enveloped pair's public key (on the curve).
	PublicKey *ecdsa.PublicKey
	// C1 is the SM2 ciphertext point x || y (on the curve), C3 its hash
	// and C2 the encrypted session key.
	C1 [2 * SM2CoordinateSize]byte
	C3 [32]byte
	C2 [EnvelopedSessionKeySize]byte
}

// ParseEnvelopedKey parses a 388-byte ENVELOPEDKEYBLOB strictly: it refuses
// any other length (a truncated blob, trailing bytes), another version,
// algorithm, bit length or cipher length, a non-zero padding byte and a
// public key or C1 point not on the curve. Errors are *EnvelopedKeyError
// (wrapping ErrEnvelopedKey, and ErrLength or ErrSM2NotOnCurve where they
// apply).
func ParseEnvelopedKey(b []byte) (*EnvelopedKey, error) {
	if len(b) != EnvelopedKeySize {
		return nil, &EnvelopedKeyError{Field: "blob", Offset: -1,
			Err: fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(b), EnvelopedKeySize)}
	}
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
	for _, f := range []struct {
		name string
		off  int
		want uint32
	}{
		{"Version", envOffVersion, EnvelopedKeyVersion},
		{"ulSymmAlgID", envOffAlg, EnvelopedKeySymmAlg},
		{"ulBits", envOffBits, EnvelopedKeyBits},
		{"PubKey.BitLen", envOffPubBits, EnvelopedKeyBits},
		{"CipherLen", envOffCLen, EnvelopedSessionKeySize},
	} {
		if got := u32(f.off); got != f.want {
			return nil, envErr(f.name, f.off, "%#x, want %#x", got, f.want)
		}
	}
	// The 64-byte fields hold a 32-byte value right-aligned.
	for _, f := range []struct {
		name string
		off  int
	}{
		{"cbEncryptedPriKey", envOffPriv}, {"PubKey.X", envOffPubX}, {"PubKey.Y", envOffPubY},
		{"ECCCipherBlob.X", envOffC1X}, {"ECCCipherBlob.Y", envOffC1Y},
	} {
		for i, x := range b[f.off : f.off+32] {
			if x != 0 {
				return nil, envErr(f.name, f.off+i, "padding byte %02X, want 00", x)
			}
		}
	}
	k := new(EnvelopedKey)
	copy(k.EncryptedPrivateKey[:], b[envOffPriv+32:envOffPubBits])
	var xy [SM2PublicKeyXYSize]byte
	copy(xy[:32], b[envOffPubX+32:envOffPubY])
	copy(xy[32:], b[envOffPubY+32:envOffC1X])
	pub, err := sm2PublicKeyFromXY(xy[:])
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "PubKey", Offset: envOffPubX, Err: err}
	}
	k.PublicKey = pub
	copy(k.C1[:32], b[envOffC1X+32:envOffC1Y])
	copy(k.C1[32:], b[envOffC1Y+32:envOffC3])
	if _, err := sm2PublicKeyFromXY(k.C1[:]); err != nil {
		return nil, &EnvelopedKeyError{Field: "ECCCipherBlob C1", Offset: envOffC1X, Err: err}
	}
	copy(k.C3[:], b[envOffC3:envOffCLen])
	copy(k.C2[:], b[envOffC2:])
	return k, nil
}

// Marshal returns the 388-byte ENVELOPEDKEYBLOB of k. It fails only when k
// has no valid public key.
func (k *EnvelopedKey) Marshal() ([]byte, error) {
	xy, err := MarshalPublicKeyXY(k.PublicKey)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "PubKey", Offset: envOffPubX, Err: err}
	}
	b := make([]byte, EnvelopedKeySize)
	binary.LittleEndian.PutUint32(b[envOffVersion:], EnvelopedKeyVersion)
	binary.LittleEndian.PutUint32(b[envOffAlg:], EnvelopedKeySymmAlg)
	binary.LittleEndian.PutUint32(b[envOffBits:], EnvelopedKeyBits)
	copy(b[envOffPriv+32:], k.EncryptedPrivateKey[:])
	binary.LittleEndian.PutUint32(b[envOffPubBits:], EnvelopedKeyBits)
	copy(b[envOffPubX+32:], xy[:32])
	copy(b[envOffPubY+32:], xy[32:])
	copy(b[envOffC1X+32:], k.C1[:32])
	copy(b[envOffC1Y+32:], k.C1[32:])
	copy(b[envOffC3:], k.C3[:])
	binary.LittleEndian.PutUint32(b[envOffCLen:], EnvelopedSessionKeySize)
	copy(b[envOffC2:], k.C2[:])
	return b, nil
}

// CipherBlock returns C1.x || C1.y || C3 || C2 (112 bytes): the SM2
// ciphertext of the session key as the card command 80 4E carries it.
func (k *EnvelopedKey) CipherBlock() []byte {
	out := make([]byte, 0, EnvelopedCipherBlockSize)
	out = append(out, k.C1[:]...)
	out = append(out, k.C3[:]...)
	return append(out, k.C2[:]...)
}

// plainC1C3C2 is the gmsm option of the GM/T 0003 C1 || C3 || C2 order
// without ASN.1.
var (
	envEncOpts = sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2)
	envDecOpts = sm2.NewPlainDecrypterOpts(sm2.C1C3C2)
)

// DecryptCipherBlock decrypts the 112-byte cipher block of an enveloped key
// (C1.x || C1.y || C3 || C2, see CipherBlock) with priv and returns the
// 16-byte session key: what the card does for 80 4E. A wrong key or a
// tampered block gives an *EnvelopedKeyError.
func DecryptCipherBlock(priv *sm2.PrivateKey, block []byte) ([]byte, error) {
	if err := sm2CheckPrivateKey(priv); err != nil {
		return nil, &EnvelopedKeyError{Field: "recipient key", Offset: -1, Err: err}
	}
	if len(block) != EnvelopedCipherBlockSize {
		return nil, &EnvelopedKeyError{Field: "cipher block", Offset: -1,
			Err: fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(block), EnvelopedCipherBlockSize)}
	}
	ct := make([]byte, 0, 1+len(block))
	ct = append(append(ct, 0x04), block...)
	plain, err := priv.Decrypt(nil, ct, envDecOpts)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "cipher block", Offset: -1, Err: fmt.Errorf("SM2 decryption: %w", err)}
	}
	if len(plain) != EnvelopedSessionKeySize { // unreachable: C2 is 16 bytes
		return nil, &EnvelopedKeyError{Field: "cipher block", Offset: -1, Err: fmt.Errorf("session key is %d bytes", len(plain))}
	}
	return plain, nil
}

// OpenPrivateKey decrypts encPriv = SM4_ECB(sessionKey, d) (32 bytes) and
// checks the result against pub: 1 ≤ d < n−1 and d·G = pub, what the card
// does for 80 C2 C0 01. Errors are *EnvelopedKeyError.
func OpenPrivateKey(sessionKey, encPriv []byte, pub *ecdsa.PublicKey) (*sm2.PrivateKey, error) {
	if len(encPriv) != SM2ScalarSize {
		return nil, &EnvelopedKeyError{Field: "encrypted private key", Offset: -1,
			Err: fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(encPriv), SM2ScalarSize)}
	}
	blk, err := NewSM4(sessionKey)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "session key", Offset: -1, Err: err}
	}
	d, err := DecryptECB(blk, encPriv)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "encrypted private key", Offset: -1, Err: err}
	}
	defer clear(d)
	if v := new(big.Int).SetBytes(d); v.Sign() == 0 || v.Cmp(sm2NMinus1) >= 0 {
		return nil, &EnvelopedKeyError{Field: "private key", Offset: -1, Err: errors.New("scalar out of range (wrong session key?)")}
	}
	priv, err := sm2.NewPrivateKey(d)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "private key", Offset: -1, Err: err}
	}
	if pub == nil || !priv.PublicKey.Equal(pub) {
		return nil, &EnvelopedKeyError{Field: "private key", Offset: -1, Err: errors.New("d·G is not the enveloped public key (wrong session key?)")}
	}
	return priv, nil
}

// Open recovers the enveloped private key with the recipient's key (the
// card's signing key): the session key from the cipher block, then d,
// checked against the public key (d·G = PubKey). Errors are
// *EnvelopedKeyError.
func (k *EnvelopedKey) Open(recipient *sm2.PrivateKey) (*sm2.PrivateKey, error) {
	session, err := DecryptCipherBlock(recipient, k.CipherBlock())
	if err != nil {
		return nil, err
	}
	defer clear(session)
	return OpenPrivateKey(session, k.EncryptedPrivateKey[:], k.PublicKey)
}

// SealEnvelopedKey envelopes encKey for recipient: d is SM4-ECB-encrypted
// under sessionKey (16 bytes; nil: 16 random bytes from rand), and the
// session key is SM2-encrypted (C1 || C3 || C2) to recipient with
// randomness from rand (nil: crypto/rand).
func SealEnvelopedKey(random io.Reader, recipient *ecdsa.PublicKey, encKey *sm2.PrivateKey, sessionKey []byte) (*EnvelopedKey, error) {
	if random == nil {
		random = rand.Reader
	}
	if err := sm2CheckPublicKey(recipient); err != nil {
		return nil, &EnvelopedKeyError{Field: "recipient key", Offset: -1, Err: err}
	}
	if err := sm2CheckPrivateKey(encKey); err != nil {
		return nil, &EnvelopedKeyError{Field: "key to envelope", Offset: -1, Err: err}
	}
	if sessionKey == nil {
		sessionKey = make([]byte, EnvelopedSessionKeySize)
		if _, err := io.ReadFull(random, sessionKey); err != nil {
			return nil, &EnvelopedKeyError{Field: "session key", Offset: -1, Err: err}
		}
		defer clear(sessionKey)
	}
	if len(sessionKey) != EnvelopedSessionKeySize {
		return nil, &EnvelopedKeyError{Field: "session key", Offset: -1,
			Err: fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(sessionKey), EnvelopedSessionKeySize)}
	}
	blk, err := NewSM4(sessionKey)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "session key", Offset: -1, Err: err}
	}
	var d [SM2ScalarSize]byte
	encKey.D.FillBytes(d[:])
	defer clear(d[:])
	encPriv, err := EncryptECB(blk, d[:])
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "private key", Offset: -1, Err: err}
	}
	ct, err := sm2.Encrypt(random, recipient, sessionKey, envEncOpts)
	if err != nil {
		return nil, &EnvelopedKeyError{Field: "session key", Offset: -1, Err: fmt.Errorf("SM2 encryption: %w", err)}
	}
	if len(ct) != 1+EnvelopedCipherBlockSize || ct[0] != 0x04 { // unreachable with gmsm
		return nil, &EnvelopedKeyError{Field: "session key", Offset: -1, Err: fmt.Errorf("SM2 ciphertext of %d bytes", len(ct))}
	}
	k := &EnvelopedKey{PublicKey: &ecdsa.PublicKey{Curve: encKey.Curve, X: new(big.Int).Set(encKey.X), Y: new(big.Int).Set(encKey.Y)}}
	copy(k.EncryptedPrivateKey[:], encPriv)
	copy(k.C1[:], ct[1:65])
	copy(k.C3[:], ct[65:97])
	copy(k.C2[:], ct[97:])
	return k, nil
}

// Equal reports whether k and o encode the same blob.
func (k *EnvelopedKey) Equal(o *EnvelopedKey) bool {
	a, err1 := k.Marshal()
	b, err2 := o.Marshal()
	return err1 == nil && err2 == nil && subtle.ConstantTimeCompare(a, b) == 1
}
