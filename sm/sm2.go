package sm

import (
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// DefaultSignerID is the default SM2 signer identity (user ID) of GM/T 0009:
// the ASCII string "1234567812345678". The PKI application of the card, the
// SIM X.509 certificates and PBOC SM2 offline data authentication all use it
// (sim-profile §5, §6).
const DefaultSignerID = "1234567812345678"

// Sizes of the SM2 encodings handled here.
const (
	SM2ScalarSize        = 32 // private key d, big-endian
	SM2CoordinateSize    = 32 // one affine coordinate, big-endian
	SM2PublicKeyXYSize   = 64 // X || Y
	SM2PublicKeySize     = 65 // 04 || X || Y (SEC 1 uncompressed point)
	SM2CardPublicKeySize = 66 // 00 40 || X || Y (PKI application EF 0012)
	SM2DigestSize        = 32 // e = SM3(Z || M), and Z itself
	SM2SignatureSize     = 64 // r || s, 32 bytes each, big-endian
)

// Errors of the SM2 functions. Every error about a public key wraps
// ErrSM2PublicKey; a more precise sentinel (ErrLength, ErrSM2NotOnCurve,
// ErrSM2NoKey) is wrapped alongside where it applies. Every error about a
// signature encoding wraps ErrSM2Signature; a signature that is well formed
// but wrong is ErrSM2Verify.
var (
	ErrSM2PublicKey  = errors.New("sm: invalid SM2 public key")
	ErrSM2NotOnCurve = errors.New("sm: point is not on the SM2 curve")
	ErrSM2NoKey      = errors.New("sm: no SM2 key pair on the card yet")
	ErrSM2PrivateKey = errors.New("sm: invalid SM2 private key")
	ErrSM2Signature  = errors.New("sm: malformed SM2 signature")
	ErrSM2Verify     = errors.New("sm: SM2 signature verification failed")
	ErrSM2SignerID   = errors.New("sm: invalid SM2 signer id")
)

// sm2CardKeyHeader is the two-byte header of EF 0012: 00 40 (64 bytes follow).
var sm2CardKeyHeader = [2]byte{0x00, 0x40}

// sm2N is the order n of the base point of sm2p256v1.
var sm2N = sm2.P256().Params().N

// sm2NMinus1 is n-1, the bound of the SIM private key rule.
var sm2NMinus1 = new(big.Int).Sub(sm2N, big.NewInt(1))

// ParsePublicKey parses an SM2 public key encoded as an uncompressed SEC 1
// point, 04 || X || Y (65 bytes), and checks that it is a point of
// sm2p256v1 other than the point at infinity.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) != SM2PublicKeySize {
		return nil, fmt.Errorf("%w: %w: uncompressed point is %d bytes, want %d", ErrSM2PublicKey, ErrLength, len(b), SM2PublicKeySize)
	}
	if b[0] != 0x04 {
		return nil, fmt.Errorf("%w: point format %02X, want 04 (uncompressed)", ErrSM2PublicKey, b[0])
	}
	return sm2PublicKeyFromXY(b[1:])
}

// ParsePublicKeyXY parses an SM2 public key given as the raw coordinates
// X || Y (64 bytes, each big-endian) and checks that it is on the curve.
func ParsePublicKeyXY(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) != SM2PublicKeyXYSize {
		return nil, fmt.Errorf("%w: %w: X||Y is %d bytes, want %d", ErrSM2PublicKey, ErrLength, len(b), SM2PublicKeyXYSize)
	}
	return sm2PublicKeyFromXY(b)
}

// ParseCardPublicKey parses the content of the PKI application's public
// key file EF 0012 (ssc-facts §3.5): 00 40 || X || Y, 66 bytes. A file of
// zeros (header and key, or the key alone) means the card has no key pair
// yet and gives ErrSM2NoKey; any other header is rejected.
func ParseCardPublicKey(b []byte) (*ecdsa.PublicKey, error) {
	if len(b) != SM2CardPublicKeySize {
		return nil, fmt.Errorf("%w: %w: EF 0012 content is %d bytes, want %d", ErrSM2PublicKey, ErrLength, len(b), SM2CardPublicKeySize)
	}
	if sm2AllZero(b[2:]) && (sm2AllZero(b[:2]) || [2]byte(b[:2]) == sm2CardKeyHeader) {
		return nil, fmt.Errorf("%w: %w", ErrSM2PublicKey, ErrSM2NoKey)
	}
	if [2]byte(b[:2]) != sm2CardKeyHeader {
		return nil, fmt.Errorf("%w: EF 0012 header %X, want 0040", ErrSM2PublicKey, b[:2])
	}
	return sm2PublicKeyFromXY(b[2:])
}

func sm2PublicKeyFromXY(xy []byte) (*ecdsa.PublicKey, error) {
	var q [SM2PublicKeySize]byte
	q[0] = 0x04
	copy(q[1:], xy)
	pub, err := sm2.NewPublicKey(q[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %w", ErrSM2PublicKey, ErrSM2NotOnCurve, err)
	}
	return pub, nil
}

// sm2CheckPublicKey reports whether pub can be handed to gmsm without
// panicking: an SM2 curve key with coordinates that form a valid point.
func sm2CheckPublicKey(pub *ecdsa.PublicKey) error {
	if pub == nil || pub.X == nil || pub.Y == nil {
		return fmt.Errorf("%w: nil key", ErrSM2PublicKey)
	}
	if !sm2.IsSM2PublicKey(pub) {
		return fmt.Errorf("%w: not a key on the SM2 curve", ErrSM2PublicKey)
	}
	if pub.X.Sign() < 0 || pub.Y.Sign() < 0 || pub.X.BitLen() > 256 || pub.Y.BitLen() > 256 {
		return fmt.Errorf("%w: %w: coordinate out of range", ErrSM2PublicKey, ErrSM2NotOnCurve)
	}
	var xy [SM2PublicKeyXYSize]byte
	pub.X.FillBytes(xy[:32])
	pub.Y.FillBytes(xy[32:])
	_, err := sm2PublicKeyFromXY(xy[:])
	return err
}

// MarshalPublicKeyXY returns X || Y (64 bytes) of an SM2 public key.
func MarshalPublicKeyXY(pub *ecdsa.PublicKey) ([]byte, error) {
	if err := sm2CheckPublicKey(pub); err != nil {
		return nil, err
	}
	out := make([]byte, SM2PublicKeyXYSize)
	pub.X.FillBytes(out[:32])
	pub.Y.FillBytes(out[32:])
	return out, nil
}

// MarshalPublicKey returns the uncompressed SEC 1 encoding 04 || X || Y
// (65 bytes) of an SM2 public key.
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	xy, err := MarshalPublicKeyXY(pub)
	if err != nil {
		return nil, err
	}
	return append([]byte{0x04}, xy...), nil
}

// MarshalCardPublicKey returns the EF 0012 encoding 00 40 || X || Y
// (66 bytes) of an SM2 public key, as the PKI application stores it.
func MarshalCardPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	xy, err := MarshalPublicKeyXY(pub)
	if err != nil {
		return nil, err
	}
	return append(sm2CardKeyHeader[:], xy...), nil
}

// PrivateKeyFromScalar makes an SM2 private key from 32 bytes with the SIM
// reduction rule of sim-profile §5: the bytes are a big-endian integer d;
// if d = 0 or d >= n-1 (n the order of the curve), d = 1 is used instead.
// Every 32-byte input therefore gives a valid key in [1, n-2]; only the
// length is checked.
func PrivateKeyFromScalar(b []byte) (*sm2.PrivateKey, error) {
	if len(b) != SM2ScalarSize {
		return nil, fmt.Errorf("%w: %w: scalar is %d bytes, want %d", ErrSM2PrivateKey, ErrLength, len(b), SM2ScalarSize)
	}
	d := new(big.Int).SetBytes(b)
	if d.Sign() == 0 || d.Cmp(sm2NMinus1) >= 0 {
		d.SetInt64(1)
	}
	var k [SM2ScalarSize]byte
	priv, err := sm2.NewPrivateKey(d.FillBytes(k[:]))
	if err != nil { // unreachable: d is in [1, n-2]
		return nil, fmt.Errorf("%w: %w", ErrSM2PrivateKey, err)
	}
	return priv, nil
}

func sm2CheckPrivateKey(priv *sm2.PrivateKey) error {
	if priv == nil || priv.D == nil {
		return fmt.Errorf("%w: nil key", ErrSM2PrivateKey)
	}
	if priv.D.Sign() <= 0 || priv.D.Cmp(sm2NMinus1) >= 0 {
		return fmt.Errorf("%w: scalar out of range", ErrSM2PrivateKey)
	}
	return sm2CheckPublicKey(&priv.PublicKey)
}

// signerID returns the id to hash into Z: id, or DefaultSignerID when id
// is empty. ENTL is a 16-bit bit count, so ids are at most 8191 bytes.
func sm2UID(id []byte) ([]byte, error) {
	if len(id) == 0 {
		return []byte(DefaultSignerID), nil
	}
	if len(id) > 0x1FFF {
		return nil, fmt.Errorf("%w: %d bytes, at most 8191", ErrSM2SignerID, len(id))
	}
	return id, nil
}

// SM2Z returns Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) of a
// public key for a signer id (GB/T 32918.2 §5.5). A nil or empty id means
// DefaultSignerID.
func SM2Z(pub *ecdsa.PublicKey, id []byte) ([]byte, error) {
	if err := sm2CheckPublicKey(pub); err != nil {
		return nil, err
	}
	uid, err := sm2UID(id)
	if err != nil {
		return nil, err
	}
	z, err := sm2.CalculateZA(pub, uid)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSM2PublicKey, err)
	}
	return z, nil
}

// SM2Digest returns the SM2 message digest e = SM3(Z || msg) for a public
// key and signer id (nil or empty = DefaultSignerID). This is what the
// PKI application signs: the host computes e with the key of EF 0012 and
// sends it in PSO: COMPUTE DIGITAL SIGNATURE (sim-profile §5).
func SM2Digest(pub *ecdsa.PublicKey, id, msg []byte) ([SM2DigestSize]byte, error) {
	var e [SM2DigestSize]byte
	z, err := SM2Z(pub, id)
	if err != nil {
		return e, err
	}
	h := sm3.New()
	h.Write(z)
	h.Write(msg)
	h.Sum(e[:0])
	return e, nil
}

// SignDigest signs a 32-byte SM2 digest e (see SM2Digest) and returns the
// signature r || s (64 bytes), as the card's PSO: COMPUTE DIGITAL SIGNATURE
// answers. It is the host-side signer of the software card and the tests.
//
// Signatures are deterministic: the nonce k comes from RFC 6979 with
// HMAC-SM3 over the private key and e (gmsm's SignDeterministic), so the
// same key and digest always give the same signature, which keeps
// transcripts and golden files stable. Any SM2 verifier accepts them.
func SignDigest(priv *sm2.PrivateKey, e []byte) ([]byte, error) {
	if err := sm2CheckPrivateKey(priv); err != nil {
		return nil, err
	}
	if len(e) != SM2DigestSize {
		return nil, fmt.Errorf("%w: digest is %d bytes, want %d", ErrLength, len(e), SM2DigestSize)
	}
	der, err := sm2.SignDeterministic(priv, e, nil)
	if err != nil {
		return nil, fmt.Errorf("sm: SM2 sign: %w", err)
	}
	return SignatureFromDER(der)
}

// Sign signs msg for a signer id (nil or empty = DefaultSignerID): it
// computes e = SM3(Z || msg) with the key's own public key and signs e with
// SignDigest. It returns r || s (64 bytes).
func Sign(priv *sm2.PrivateKey, id, msg []byte) ([]byte, error) {
	if err := sm2CheckPrivateKey(priv); err != nil {
		return nil, err
	}
	e, err := SM2Digest(&priv.PublicKey, id, msg)
	if err != nil {
		return nil, err
	}
	return SignDigest(priv, e[:])
}

// VerifyDigest checks an SM2 signature r || s (64 bytes) of a 32-byte
// digest e under pub. It returns nil when the signature is valid,
// ErrSM2Verify when it is not, and an error wrapping ErrSM2Signature,
// ErrSM2PublicKey or ErrLength when an input is malformed.
func VerifyDigest(pub *ecdsa.PublicKey, e, sig []byte) error {
	if err := sm2CheckPublicKey(pub); err != nil {
		return err
	}
	if len(e) != SM2DigestSize {
		return fmt.Errorf("%w: digest is %d bytes, want %d", ErrLength, len(e), SM2DigestSize)
	}
	der, err := SignatureToDER(sig)
	if err != nil {
		return err
	}
	if !sm2.VerifyASN1(pub, e, der) {
		return ErrSM2Verify
	}
	return nil
}

// Verify checks an SM2 signature r || s (64 bytes) of msg by the holder of
// pub with a signer id (nil or empty = DefaultSignerID). Results as
// VerifyDigest.
func Verify(pub *ecdsa.PublicKey, id, msg, sig []byte) error {
	e, err := SM2Digest(pub, id, msg)
	if err != nil {
		return err
	}
	return VerifyDigest(pub, e[:], sig)
}

type sm2DERSignature struct {
	R, S *big.Int
}

// sm2InScalarRange reports whether 1 <= v <= n-1.
func sm2InScalarRange(v *big.Int) bool {
	return v.Sign() > 0 && v.Cmp(sm2N) < 0
}

// SignatureToDER converts an SM2 signature r || s (64 bytes) to the ASN.1
// DER form SEQUENCE { r INTEGER, s INTEGER } used by X.509, OpenSSL and
// gmsm. r and s must be in [1, n-1].
func SignatureToDER(sig []byte) ([]byte, error) {
	if len(sig) != SM2SignatureSize {
		return nil, fmt.Errorf("%w: %w: r||s is %d bytes, want %d", ErrSM2Signature, ErrLength, len(sig), SM2SignatureSize)
	}
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	if !sm2InScalarRange(r) || !sm2InScalarRange(s) {
		return nil, fmt.Errorf("%w: r or s not in [1, n-1]", ErrSM2Signature)
	}
	der, err := asn1.Marshal(sm2DERSignature{r, s})
	if err != nil { // unreachable for positive integers
		return nil, fmt.Errorf("%w: %w", ErrSM2Signature, err)
	}
	return der, nil
}

// SignatureFromDER converts a DER SM2 signature SEQUENCE { r, s } to
// r || s (64 bytes). It is strict: the input must be exactly one DER
// SEQUENCE of two minimally encoded, positive INTEGERs in [1, n-1], with no
// trailing bytes and no BER forms (long or indefinite lengths where DER
// forbids them).
func SignatureFromDER(der []byte) ([]byte, error) {
	var sig sm2DERSignature
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSM2Signature, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrSM2Signature, len(rest))
	}
	if !sm2InScalarRange(sig.R) || !sm2InScalarRange(sig.S) {
		return nil, fmt.Errorf("%w: r or s not in [1, n-1]", ErrSM2Signature)
	}
	// encoding/asn1 accepts a few non-DER forms (for instance a SEQUENCE
	// with extra elements it ignores); re-encoding must give the input back.
	again, err := asn1.Marshal(sig)
	if err != nil || string(again) != string(der) {
		return nil, fmt.Errorf("%w: not in canonical DER", ErrSM2Signature)
	}
	out := make([]byte, SM2SignatureSize)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

func sm2AllZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
