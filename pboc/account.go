package pboc

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/sscard/ssc/apdu"
)

// Account is the typed view of the application's records (and FCI): what
// a bank or hospital terminal shows about the card's bank account.
type Account struct {
	AID           apdu.HexBytes `json:"aid"`
	Label         string        `json:"label,omitempty"`
	PreferredName string        `json:"preferred_name,omitempty"`
	PAN           string        `json:"pan"`                      // 5A, digits
	PANSequence   string        `json:"pan_sequence,omitempty"`   // 5F34, two digits
	Expiry        string        `json:"expiry,omitempty"`         // 5F24 as YYYY-MM-DD
	Effective     string        `json:"effective,omitempty"`      // 5F25 as YYYY-MM-DD
	Cardholder    string        `json:"cardholder,omitempty"`     // 5F20 (9F0B when longer)
	IssuerCountry string        `json:"issuer_country,omitempty"` // 5F28, numeric code ("156")
	Currency      string        `json:"currency,omitempty"`       // 9F42, numeric code
	Track2        *Track2       `json:"track2,omitempty"`         // 57
	AppVersion    apdu.HexBytes `json:"app_version,omitempty"`    // 9F08
	ProductID     apdu.HexBytes `json:"product_id,omitempty"`     // 9F63
	// SocialSecurityCard is 9F63 byte 9 b4: the issuer marks this bank
	// application as a social security card's (JR/T 0025 annex A).
	SocialSecurityCard bool `json:"social_security_card"`
	// ProductFlags appNames every 9F63 byte-9 flag that is set ("社保卡", ...).
	ProductFlags []string `json:"product_flags,omitempty"`
}

// Track2 is the track 2 equivalent data (tag 57).
type Track2 struct {
	PAN           string `json:"pan"`
	Expiry        string `json:"expiry"`       // YYMM as on the card
	ServiceCode   string `json:"service_code"` // 3 digits
	Discretionary string `json:"discretionary,omitempty"`
}

// ParseTrack2 decodes tag 57 (PAN, separator D, YYMM, service code,
// discretionary data, F padding). Errors wrap ErrMalformed.
func ParseTrack2(b []byte) (*Track2, error) {
	const what = "track 2 (57)"
	// EMV says at most 19 bytes, but the software card (docs/pboc.md) and
	// some issuers fill the 40 characters of a magnetic track 2.
	if len(b) == 0 || len(b) > 20 {
		return nil, malformed(what, "%d bytes, want 1..20", len(b))
	}
	s := nibbles(b)
	// One F pads an odd number of nibbles; nothing else may follow.
	if s[len(s)-1] == 'F' {
		s = s[:len(s)-1]
	}
	pan, rest, ok := strings.Cut(s, "D")
	if !ok {
		return nil, malformed(what, "%X has no separator D", b)
	}
	if len(pan) < 1 || len(pan) > 19 || !allDigits(pan) {
		return nil, malformed(what, "PAN %q", pan)
	}
	if len(rest) < 7 || !allDigits(rest) {
		return nil, malformed(what, "%q after the separator, want YYMM, service code and digits", rest)
	}
	if m := rest[2:4]; m < "01" || m > "12" {
		return nil, malformed(what, "expiry month %s", m)
	}
	return &Track2{PAN: pan, Expiry: rest[:4], ServiceCode: rest[4:7], Discretionary: rest[7:]}, nil
}

// nibbles is b in uppercase hex, one character per nibble.
func nibbles(b []byte) string {
	const hexDigits = "0123456789ABCDEF"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, hexDigits[c>>4], hexDigits[c&0x0F])
	}
	return string(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseRecord decodes one AFL record of SFI 1..10: a single 70 template
// (trailing 00/FF padding allowed). Errors wrap ErrMalformed.
//
// It returns the objects inside the template (what NewAccount takes).
func ParseRecord(b []byte) ([]apdu.TLV, error) {
	tpl, err := parseSingle("record", bytes.Clone(b), 0x70)
	if err != nil {
		return nil, err
	}
	return tpl.Children, nil
}

// NewAccount builds the account view from the objects of the records
// (and FCI, for AID, label and preferred name). PAN (5A) is required
// (MissingDataError otherwise); every present field must decode (errors
// wrap ErrMalformed) — nothing is silently dropped. Track 2 PAN and
// expiry must agree with 5A/5F24 when both are present.
func NewAccount(fci *FCI, objects []apdu.TLV) (*Account, error) {
	const what = "account"
	root := apdu.TLV{Children: objects}
	get := func(tag apdu.Tag) ([]byte, bool) {
		t, ok := root.Find(tag)
		return t.Value, ok
	}
	a := &Account{}
	if fci != nil {
		a.AID, a.Label, a.PreferredName = fci.DFName, fci.Label, fci.PreferredName
	}
	v, ok := get(0x5A)
	if !ok {
		return nil, &MissingDataError{Tag: 0x5A, Step: what}
	}
	pan, ok := cnDigits(v)
	if !ok || len(pan) > 19 || len(v) > 10 {
		return nil, malformed(what, "PAN (5A) %X", v)
	}
	a.PAN = pan
	if v, ok := get(0x5F34); ok {
		d, ok := bcdDigits(v)
		if !ok || len(v) != 1 {
			return nil, malformed(what, "PAN sequence number (5F34) %X", v)
		}
		a.PANSequence = d
	}
	var err error
	if v, ok := get(0x5F24); ok {
		if a.Expiry, err = emvDate(v); err != nil {
			return nil, malformed(what, "expiry date (5F24): %v", err)
		}
	}
	if v, ok := get(0x5F25); ok {
		if a.Effective, err = emvDate(v); err != nil {
			return nil, malformed(what, "effective date (5F25): %v", err)
		}
	}
	if v, ok := get(0x5F20); ok {
		if a.Cardholder, err = decodeASCII("account cardholder name (5F20)", v); err != nil {
			return nil, err
		}
	}
	// 9F0B holds the whole name when it does not fit in 5F20's 26 bytes.
	if v, ok := get(0x9F0B); ok {
		if a.Cardholder, err = decodeASCII("account cardholder name extended (9F0B)", v); err != nil {
			return nil, err
		}
	}
	a.Cardholder = strings.TrimRight(a.Cardholder, " ")
	if v, ok := get(0x5F28); ok {
		if a.IssuerCountry, err = n3Code(v); err != nil {
			return nil, malformed(what, "issuer country code (5F28): %v", err)
		}
	}
	if v, ok := get(0x9F42); ok {
		if a.Currency, err = n3Code(v); err != nil {
			return nil, malformed(what, "application currency code (9F42): %v", err)
		}
	}
	if v, ok := get(0x57); ok {
		if a.Track2, err = ParseTrack2(v); err != nil {
			return nil, err
		}
		if a.Track2.PAN != a.PAN {
			return nil, malformed(what, "track 2 PAN %s differs from 5A %s", a.Track2.PAN, a.PAN)
		}
		if a.Expiry != "" && a.Track2.Expiry != a.Expiry[2:4]+a.Expiry[5:7] {
			return nil, malformed(what, "track 2 expiry %s differs from 5F24 %s", a.Track2.Expiry, a.Expiry)
		}
	}
	if v, ok := get(0x9F08); ok {
		a.AppVersion = v
	}
	if v, ok := get(0x9F63); ok {
		if len(v) < 9 {
			return nil, malformed(what, "product identification (9F63) of %d bytes has no byte 9", len(v))
		}
		a.ProductID = v
		a.ProductFlags = ProductFlags(v[8])
		a.SocialSecurityCard = v[8]&ProductSocialSecurity != 0
	}
	return a, nil
}

// emvDate turns n6 YYMMDD into YYYY-MM-DD (20YY: PBOC cards were first
// issued in this century) and checks that the day exists.
func emvDate(v []byte) (string, error) {
	d, ok := bcdDigits(v)
	if !ok || len(v) != 3 {
		return "", fmt.Errorf("%X is not an n6 date", v)
	}
	y, m, day := 2000+digitsInt(d[0:2]), digitsInt(d[2:4]), digitsInt(d[4:6])
	if m < 1 || m > 12 || day < 1 || day > time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return "", fmt.Errorf("%s is not a date", d)
	}
	return fmt.Sprintf("%d-%s-%s", y, d[2:4], d[4:6]), nil
}

// n3Code turns an n3 country or currency code (2 bytes) into "156".
func n3Code(v []byte) (string, error) {
	d, ok := bcdDigits(v)
	if !ok || len(v) != 2 || d[0] != '0' {
		return "", fmt.Errorf("%X is not an n3 code", v)
	}
	return d[1:], nil
}

func digitsInt(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
