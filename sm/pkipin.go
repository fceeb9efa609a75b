package sm

import (
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// PIN verification of the SSC PKI application (ssc-facts §3.5, §7):
// the card holds SM3(PIN BCD); the host proves it knows the PIN with
// VERIFY 00 20 01 81 10 || SM4_ECB(SM3(PIN BCD)[0:16], challenge16).

// PIN length bounds of EncodePIN (ISO 9564-1: 4 to 12 digits).
const (
	MinPINDigits = 4
	MaxPINDigits = 12
)

// PKIChallengeSize is the challenge of the PKI application: GET CHALLENGE
// 00 84 00 00 10.
const PKIChallengeSize = 16

// ErrPINFormat is returned for a PIN with a character other than 0–9.
var ErrPINFormat = errors.New("sm: PIN must be decimal digits")

// EncodePIN packs a decimal PIN into BCD, two digits a byte: "123456" →
// 12 34 56. An odd number of digits is completed with an F nibble
// ("12345" → 12 34 5F). Non-digits give ErrPINFormat; fewer than
// MinPINDigits or more than MaxPINDigits digits an error wrapping ErrLength.
func EncodePIN(pin string) ([]byte, error) {
	if len(pin) < MinPINDigits || len(pin) > MaxPINDigits {
		return nil, fmt.Errorf("%w: PIN has %d digits, want %d to %d", ErrLength, len(pin), MinPINDigits, MaxPINDigits)
	}
	out := make([]byte, (len(pin)+1)/2)
	for i := range len(pin) {
		c := pin[i]
		if c < '0' || c > '9' {
			return nil, ErrPINFormat
		}
		if i%2 == 0 {
			out[i/2] = (c - '0') << 4
		} else {
			out[i/2] |= c - '0'
		}
	}
	if len(pin)%2 == 1 {
		out[len(out)-1] |= 0x0F
	}
	return out, nil
}

// PKIPINKey returns the PIN key of the PKI application for an encoded PIN
// (EncodePIN for the user PIN; the raw bytes for the admin PIN):
// SM3(pinBCD)[0:16], the first half of what the card's PIN hash command
// 80 C4 returns. It is the key of the VERIFY cryptogram and, for the admin
// PIN, the CTK that enciphers and MACs CHANGE ADMIN PIN 84 5E (ssc-facts
// §3.5).
func PKIPINKey(pinBCD []byte) [16]byte {
	sum := sm3.Sum(pinBCD)
	var k [16]byte
	copy(k[:], sum[:16])
	return k
}

// PKIPINCryptogram returns the data field of the PKI VERIFY command
// 00 20 01 81 10: SM4_ECB(SM3(PIN BCD)[0:16], challenge). challenge is the
// card's 16-byte challenge, or an 8-byte one, which is right-padded with
// eight 00 bytes as some host code does; other sizes give an error wrapping
// ErrLength.
func PKIPINCryptogram(pin string, challenge []byte) ([16]byte, error) {
	bcd, err := EncodePIN(pin)
	if err != nil {
		return [16]byte{}, err
	}
	key := PKIPINKey(bcd)
	clear(bcd)
	defer clear(key[:])
	return PKIChallengeResponse(key[:], challenge)
}

// PKIChallengeResponse is the answer the PKI application expects to its
// challenge under a 16-byte key: SM4_ECB(key, challenge), for the user and
// admin PIN VERIFY (key = PKIPINKey) and the master-key EXTERNAL
// AUTHENTICATE (key = the master key). An 8-byte challenge is right-padded
// with 00 bytes; other sizes give an error wrapping ErrLength.
func PKIChallengeResponse(key, challenge []byte) ([16]byte, error) {
	var out [16]byte
	if len(challenge) != PKIChallengeSize && len(challenge) != FactorSize {
		return out, fmt.Errorf("%w: challenge is %d bytes, want %d or %d", ErrLength, len(challenge), PKIChallengeSize, FactorSize)
	}
	b, err := NewSM4(key)
	if err != nil {
		return out, err
	}
	var in [16]byte
	copy(in[:], challenge)
	b.Encrypt(out[:], in[:])
	return out, nil
}
