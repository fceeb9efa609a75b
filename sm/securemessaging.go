package sm

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/sscard/ssc/apdu"
)

// Secure messaging in the PBOC / Chinese COS style (JR/T 0025, ssc-facts
// §3.2, §3.5): the class byte gets its SM bit (00 → 04, 80 → 84), the data
// field may be enciphered, and a 4-byte MAC over
//
//	CLA' INS P1 P2 Lc' || data'      (Lc' counts the MAC)
//
// is appended, chained from the card's fresh challenge or from zeros.
// SecureTransport does this as middleware under an apdu.Transmitter: callers
// build plain commands and the transport protects those that need it.

// ErrResponseMAC is returned by SecureTransport when a response MAC is
// configured and the card's answer does not carry a valid one.
var ErrResponseMAC = errors.New("sm: response MAC does not verify")

// SecureLevel is how one command is protected.
type SecureLevel int

const (
	LevelPlain  SecureLevel = iota // sent unchanged
	LevelMAC                       // SM bit in CLA, MAC appended
	LevelEncMAC                    // SM bit in CLA, data field enciphered, MAC appended
)

// String names the level.
func (l SecureLevel) String() string {
	switch l {
	case LevelPlain:
		return "plain"
	case LevelMAC:
		return "MAC"
	case LevelEncMAC:
		return "enc+MAC"
	}
	return fmt.Sprintf("SecureLevel(%d)", int(l))
}

// Encipherer enciphers the data field of a command for secure messaging.
// DataCipher does it with a local key; a PSAM or HSM adapter can instead.
// Encipher must not modify or retain data.
type Encipherer interface {
	Encipher(data []byte) ([]byte, error)
}

// DataCipher is the usual card data encipherment with a local key: the
// plaintext is Ld || data (Ld = one length byte, unless NoLength), padded
// with Padding and encrypted in ECB mode, or in CBC mode when IV is set.
// The SSC PKI COS examples (ssc-facts §3.5) are SM4 ECB with PadISO9797M2:
// SM4(CTK, 04 || newPIN4 || 80 00…) and SM4(K, 13 || 00 00 00 || key16 ||
// 80 00…).
type DataCipher struct {
	Block    cipher.Block // SM4 (NewSM4) or 3DES (NewTDES)
	IV       []byte       // nil: ECB; otherwise CBC with this one-block IV
	Padding  Padding
	NoLength bool // do not prefix the length byte
}

var _ Encipherer = DataCipher{}

// Encipher implements Encipherer.
func (c DataCipher) Encipher(data []byte) ([]byte, error) {
	if c.Block == nil {
		return nil, errNilBlock
	}
	bs := c.Block.BlockSize()
	plain := make([]byte, 0, len(data)+1+bs)
	if !c.NoLength {
		if len(data) > 0xFF {
			return nil, fmt.Errorf("%w: %d data bytes do not fit a length byte", ErrLength, len(data))
		}
		plain = append(plain, byte(len(data)))
	}
	plain, err := c.Padding.pad(append(plain, data...), 0, bs) // Ld || data, padded as one
	if err != nil {
		return nil, err
	}
	var out []byte
	if c.IV == nil {
		out, err = EncryptECB(c.Block, plain)
	} else {
		out, err = EncryptCBC(c.Block, c.IV, plain)
	}
	clear(plain)
	return out, err
}

// ChallengeFunc fetches the initial value for the MAC of one command,
// normally a fresh card challenge, through the raw inner transport.
type ChallengeFunc func(ctx context.Context, inner apdu.Transport) ([]byte, error)

// CardChallenge returns a ChallengeFunc that sends GET CHALLENGE
// 00 84 00 00 n (n = 8 for SSSE/PBOC cards, 16 for the PKI application)
// and returns the n bytes.
func CardChallenge(n int) ChallengeFunc {
	return func(ctx context.Context, inner apdu.Transport) ([]byte, error) {
		if n <= 0 || n > apdu.MaxShortNe {
			return nil, fmt.Errorf("%w: challenge of %d bytes", ErrLength, n)
		}
		tr := apdu.Transmitter{Transport: inner}
		data, err := tr.Do(ctx, apdu.Command{INS: 0x84, Ne: n})
		if err != nil {
			return nil, fmt.Errorf("sm: GET CHALLENGE: %w", err)
		}
		if len(data) != n {
			return nil, fmt.Errorf("%w: card returned a %d-byte challenge, want %d", ErrLength, len(data), n)
		}
		return data, nil
	}
}

// SecureConfig configures a SecureTransport.
type SecureConfig struct {
	// MAC computes the command MAC: a *CBCMAC (NewPKIMAC, NewSM4MAC,
	// NewRetailMAC …) or a PSAM/HSM adapter. Required.
	MAC MACer

	// Cipher enciphers the data field of LevelEncMAC commands.
	Cipher Encipherer

	// Level chooses the protection of each plain command. When nil,
	// commands whose CLA already has the SM bit (04, 84 …) get LevelMAC and
	// the others go unchanged. GET RESPONSE (INS C0) and reader
	// pseudo-APDUs (CLA FF) always go unchanged.
	Level func(cmd apdu.Command) SecureLevel

	// Challenge gives the MAC's initial value for each protected command,
	// e.g. CardChallenge(16). nil means zeros.
	Challenge ChallengeFunc

	// ResponseMAC, when set, makes the transport check the responses to
	// protected commands: on 9000 the last 4 data bytes must be the MAC
	// of the data before them, computed with the command's initial value.
	// The MAC is removed from the data returned. A mismatch is
	// ErrResponseMAC.
	ResponseMAC MACer
}

// SecureTransport is an apdu.Transport that applies secure messaging to the
// commands it forwards to an inner raw transport. Put it under an
// apdu.Transmitter:
//
//	tr := apdu.Transmitter{Transport: sm.NewSecureTransport(card, cfg)}
//
// It supports short APDUs only. It holds no state between commands; it is
// as safe for concurrent use as its inner transport and configuration, and,
// as with any card, whole commands (here challenge + command) must not
// interleave.
type SecureTransport struct {
	inner apdu.Transport
	cfg   SecureConfig
}

var _ apdu.Transport = (*SecureTransport)(nil)

// NewSecureTransport returns a SecureTransport sending through inner.
func NewSecureTransport(inner apdu.Transport, cfg SecureConfig) *SecureTransport {
	return &SecureTransport{inner: inner, cfg: cfg}
}

// Transmit implements apdu.Transport: cmd is a plain command APDU.
// Commands at level LevelPlain are forwarded unchanged; the others are
// wrapped, sent, and (with ResponseMAC) their response is checked. A card
// that rejects the MAC answers 6988, which comes back as a response
// (apdu.ErrSecureMessaging from its Err), not as an error.
func (t *SecureTransport) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c, err := apdu.ParseCommand(cmd)
	if err != nil {
		return nil, err
	}
	level := t.level(c)
	if level == LevelPlain {
		return t.inner.Transmit(ctx, cmd)
	}
	wrapped, iv, err := t.wrap(ctx, c, level)
	if err != nil {
		return nil, err
	}
	rb, err := t.inner.Transmit(ctx, wrapped)
	if err != nil || t.cfg.ResponseMAC == nil {
		return rb, err
	}
	return t.checkResponse(ctx, iv, rb)
}

func (t *SecureTransport) level(c apdu.Command) SecureLevel {
	if c.INS == 0xC0 || c.CLA == 0xFF {
		return LevelPlain
	}
	if t.cfg.Level != nil {
		return t.cfg.Level(c)
	}
	if hasSMBit(c.CLA) {
		return LevelMAC
	}
	return LevelPlain
}

// smBit is the secure-messaging bit of a class byte: b6 for the further
// interindustry classes 40–7F, b3 (04) for the first interindustry classes
// and for the proprietary classes as PBOC uses them (80 → 84).
func smBit(cla byte) byte {
	if cla&0xC0 == 0x40 {
		return 0x20
	}
	return 0x04
}

func hasSMBit(cla byte) bool { return cla&smBit(cla) != 0 }

// wrap builds the protected command and returns it with the MAC's IV.
func (t *SecureTransport) wrap(ctx context.Context, c apdu.Command, level SecureLevel) ([]byte, []byte, error) {
	if t.cfg.MAC == nil {
		return nil, nil, errors.New("sm: secure messaging needs SecureConfig.MAC")
	}
	data := c.Data
	switch level {
	case LevelMAC:
	case LevelEncMAC:
		if t.cfg.Cipher == nil {
			return nil, nil, errors.New("sm: enciphered secure messaging needs SecureConfig.Cipher")
		}
		var err error
		if data, err = t.cfg.Cipher.Encipher(c.Data); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("sm: unknown secure messaging level %d", int(level))
	}
	lc := len(data) + MACSize
	if lc > apdu.MaxShortLc {
		return nil, nil, fmt.Errorf("%w: protected data field of %d bytes exceeds a short APDU", ErrLength, lc)
	}
	var iv []byte
	if t.cfg.Challenge != nil {
		var err error
		if iv, err = t.cfg.Challenge(ctx, t.inner); err != nil {
			return nil, nil, err
		}
	}
	out := make([]byte, 0, 5+lc+1)
	out = append(out, c.CLA|smBit(c.CLA), c.INS, c.P1, c.P2, byte(lc))
	out = append(out, data...)
	mac, err := t.cfg.MAC.MAC(iv, out)
	if err != nil {
		return nil, nil, err
	}
	out = append(out, mac[:]...)
	if c.Ne > 0 {
		out = append(out, byte(min(c.Ne, apdu.MaxShortNe))) // 256 encodes as 00
	}
	return out, iv, nil
}

// checkResponse verifies and strips the response MAC.
func (t *SecureTransport) checkResponse(ctx context.Context, iv, rb []byte) ([]byte, error) {
	resp, err := apdu.ParseResponse(rb)
	if err != nil {
		return nil, err
	}
	if resp.SW.SW1() == 0x61 {
		// The MAC covers the whole data: fetch the rest now.
		n := int(resp.SW.SW2())
		if n == 0 {
			n = apdu.MaxShortNe
		}
		tr := apdu.Transmitter{Transport: t.inner}
		rest, err := tr.Transmit(ctx, apdu.Command{INS: 0xC0, Ne: n})
		if err != nil {
			return nil, err
		}
		resp = apdu.Response{Data: append(resp.Data[:len(resp.Data):len(resp.Data)], rest.Data...), SW: rest.SW}
	}
	if resp.SW != apdu.SWOK {
		return resp.Bytes(), nil
	}
	if len(resp.Data) < MACSize {
		return nil, fmt.Errorf("%w: %d data bytes, no room for a MAC", ErrResponseMAC, len(resp.Data))
	}
	body := resp.Data[:len(resp.Data)-MACSize]
	want, err := t.cfg.ResponseMAC.MAC(iv, body)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(want[:], resp.Data[len(body):]) != 1 {
		return nil, ErrResponseMAC
	}
	return apdu.Response{Data: body, SW: resp.SW}.Bytes(), nil
}
