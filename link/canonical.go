package link

import (
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// canonicalMagic starts the canonical card data: it names the format, so a
// signature made for it cannot be taken for one over another structure.
const canonicalMagic = "SSC-LINK"

// ErrFieldTooLong: a card data field does not fit the canonical encoding
// (65535 bytes).
var ErrFieldTooLong = errors.New("link: field too long for the canonical encoding")

// field is one name/value pair of the canonical card data.
type field struct{ name, value string }

// fields lists the signed fields of b in their fixed order: the card
// identity, then the bank account for level 2.
func (b *Bundle) fields() []field {
	c := b.Card
	fs := []field{
		{"card_id", c.CardID},
		{"card_number", c.CardNumber},
		{"ssn", c.SSN},
		{"name", c.Name},
		{"region", c.Region},
		{"spec_version", c.SpecVersion},
		{"issue_date", c.IssueDate},
		{"expiry_date", c.ExpiryDate},
	}
	if k := b.Bank; k != nil {
		blocked := "false"
		if k.Blocked {
			blocked = "true"
		}
		fs = append(fs,
			field{"bank.aid", k.AID},
			field{"bank.pan", k.PAN},
			field{"bank.expiry", k.Expiry},
			field{"bank.blocked", blocked},
		)
	}
	return fs
}

// CanonicalCardData is the byte string the card data of b is signed as:
//
//	"SSC-LINK" || version (1 byte) || level (1 byte) ||
//	for each field in order: len(name) (1 byte) || name || len(value) (2 bytes, big endian) || value
//
// with the fields card_id, card_number, ssn, name, region, spec_version,
// issue_date, expiry_date, then for a bundle with a bank account bank.aid,
// bank.pan, bank.expiry and bank.blocked ("true" or "false"). Values are
// the JSON strings of the bundle, UTF-8. The encoding is injective, so two
// different card data never sign alike; docs/link.md has an example.
func CanonicalCardData(b *Bundle) ([]byte, error) {
	if b.Version < 0 || b.Version > 255 || b.Level < 0 || b.Level > 255 {
		return nil, fmt.Errorf("link: version %d / level %d out of range", b.Version, b.Level)
	}
	out := append([]byte(canonicalMagic), byte(b.Version), byte(b.Level))
	for _, f := range b.fields() {
		if len(f.value) > 0xFFFF {
			return nil, fmt.Errorf("%w: %s is %d bytes", ErrFieldTooLong, f.name, len(f.value))
		}
		out = append(out, byte(len(f.name)))
		out = append(out, f.name...)
		out = append(out, byte(len(f.value)>>8), byte(len(f.value)))
		out = append(out, f.value...)
	}
	return out, nil
}

// SignedMessage is the message the card signs for b:
//
//	SM3(origin) || SM3(nonce) || SM3(CanonicalCardData(b))
//
// (96 bytes), signed with SM2 and the default signer id, so the signature
// binds the card data to the platform's origin and to its nonce.
func SignedMessage(b *Bundle) ([]byte, error) {
	cd, err := CanonicalCardData(b)
	if err != nil {
		return nil, err
	}
	o := sm3.Sum([]byte(b.Origin))
	n := sm3.Sum(b.Nonce)
	c := sm3.Sum(cd)
	msg := make([]byte, 0, 3*sm3.Size)
	msg = append(msg, o[:]...)
	msg = append(msg, n[:]...)
	return append(msg, c[:]...), nil
}
