package link

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sscard/ssc/sm"
)

// MaxBundleSize bounds the JSON bundle ParseBundle accepts (64 KiB).
const MaxBundleSize = 64 << 10

// Bounds of the structure checks that the format leaves otherwise open.
const (
	maxCertificates = 8   // signing certificate and intermediates
	maxNameSize     = 256 // bytes of UTF-8
	maxTextSize     = 64  // card_number, spec_version
)

// ParseBundle decodes a bundle from JSON strictly — at most MaxBundleSize
// bytes, one JSON object, no unknown fields, nothing but white space after
// it — and runs the structure checks of Bundle.Check. Every error wraps
// ErrMalformed. It does not verify the proof: call Verify for that.
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(data), MaxBundleSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: JSON: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrMalformed)
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	return &b, nil
}

// Check runs the structure checks of the bundle alone (no cryptography,
// no expectations of the verifier): version BundleVersion, level Level1
// or Level2, a bank account exactly for level 2, alg AlgSM2SM3, a 64-byte
// signature, 1 to 8 non-empty certificates, a nonce of MinNonceSize to
// MaxNonceSize bytes, a serialized origin (see docs/link.md) and the card
// and bank fields (card_id 32 hex digits, card_number printable ASCII,
// ssn 17 digits and a digit or X, name UTF-8, region 6 digits, dates
// YYYYMMDD; bank aid 10 to 32 hex digits, pan 12 to 19 digits, expiry
// YYMMDD). Every error wraps ErrMalformed and names the field.
func (b *Bundle) Check() error {
	if b == nil {
		return fmt.Errorf("%w: no bundle", ErrMalformed)
	}
	if err := b.check(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

func (b *Bundle) check() error {
	if b.Version != BundleVersion {
		return fmt.Errorf("version %d, want %d", b.Version, BundleVersion)
	}
	switch b.Level {
	case Level1:
		if b.Bank != nil {
			return errors.New("level 1 bundle with a bank account")
		}
	case Level2:
		if b.Bank == nil {
			return errors.New("level 2 bundle without a bank account")
		}
	default:
		return fmt.Errorf("level %d, want %d or %d", b.Level, Level1, Level2)
	}
	if err := CheckOrigin(b.Origin); err != nil {
		return err
	}
	if n := len(b.Nonce); n < MinNonceSize || n > MaxNonceSize {
		return fmt.Errorf("nonce is %d bytes, want %d to %d", n, MinNonceSize, MaxNonceSize)
	}
	if err := b.Card.check(); err != nil {
		return err
	}
	if b.Bank != nil {
		if err := b.Bank.check(); err != nil {
			return err
		}
	}
	return b.Proof.check()
}

func (c *Card) check() error {
	if !isHex(c.CardID) || len(c.CardID) != 2*sm.CardIDSize {
		return fmt.Errorf("card.card_id %q is not %d hex digits", c.CardID, 2*sm.CardIDSize)
	}
	if c.CardNumber == "" || len(c.CardNumber) > maxTextSize || !isPrintableASCII(c.CardNumber) {
		return fmt.Errorf("card.card_number %q is not 1 to %d printable ASCII characters", c.CardNumber, maxTextSize)
	}
	if !isSSN(c.SSN) {
		return fmt.Errorf("card.ssn %q is not 17 digits and a digit or X", c.SSN)
	}
	if c.Name == "" || len(c.Name) > maxNameSize || !utf8.ValidString(c.Name) {
		return fmt.Errorf("card.name is not 1 to %d bytes of valid UTF-8", maxNameSize)
	}
	if len(c.Region) != 6 || !isDigits(c.Region) {
		return fmt.Errorf("card.region %q is not 6 digits", c.Region)
	}
	if len(c.SpecVersion) > maxTextSize || !isPrintableASCII(c.SpecVersion) {
		return fmt.Errorf("card.spec_version %q is not at most %d printable ASCII characters", c.SpecVersion, maxTextSize)
	}
	if !isDate("20060102", c.IssueDate) {
		return fmt.Errorf("card.issue_date %q is not a date YYYYMMDD", c.IssueDate)
	}
	if !isDate("20060102", c.ExpiryDate) {
		return fmt.Errorf("card.expiry_date %q is not a date YYYYMMDD", c.ExpiryDate)
	}
	return nil
}

func (k *Bank) check() error {
	if n := len(k.AID); n < 10 || n > 32 || n%2 != 0 || !isHex(k.AID) {
		return fmt.Errorf("bank.aid %q is not 5 to 16 bytes of hex", k.AID)
	}
	if n := len(k.PAN); n < 12 || n > 19 || !isDigits(k.PAN) {
		return fmt.Errorf("bank.pan is not 12 to 19 digits (%d characters)", len(k.PAN))
	}
	if !isDate("060102", k.Expiry) {
		return fmt.Errorf("bank.expiry %q is not a date YYMMDD", k.Expiry)
	}
	return nil
}

func (p *Proof) check() error {
	if p.Alg != AlgSM2SM3 {
		return fmt.Errorf("proof.alg %q, want %q", p.Alg, AlgSM2SM3)
	}
	if len(p.Signature) != sm.SM2SignatureSize {
		return fmt.Errorf("proof.signature is %d bytes, want %d", len(p.Signature), sm.SM2SignatureSize)
	}
	if n := len(p.Certificates); n == 0 || n > maxCertificates {
		return fmt.Errorf("proof.certificates has %d certificates, want 1 to %d", n, maxCertificates)
	}
	for i, c := range p.Certificates {
		if len(c) == 0 {
			return fmt.Errorf("proof.certificates[%d] is empty", i)
		}
	}
	return nil
}

// CheckOrigin reports whether origin is a serialized web origin as a
// browser sends it in the Origin header and as the bundle must carry it:
// "http://" or "https://" (lower case), a host, and an optional port —
// nothing else (no user info, path, query or fragment, no trailing
// slash). The host is a lower-case DNS name (letters, digits, hyphens,
// dots) or an IP address, IPv6 in brackets; the port is 1 to 65535
// without leading zeros and never the scheme's default (80, 443), which a
// serialized origin omits. At most MaxOriginSize bytes. Errors wrap
// ErrMalformed.
func CheckOrigin(origin string) error {
	if err := checkOrigin(origin); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

func checkOrigin(origin string) error {
	if len(origin) > MaxOriginSize {
		return fmt.Errorf("origin is %d bytes, at most %d", len(origin), MaxOriginSize)
	}
	var rest, defPort string
	switch {
	case strings.HasPrefix(origin, "https://"):
		rest, defPort = origin[len("https://"):], "443"
	case strings.HasPrefix(origin, "http://"):
		rest, defPort = origin[len("http://"):], "80"
	default:
		return fmt.Errorf("origin %q is not http:// or https://", origin)
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return fmt.Errorf("origin %q: unterminated IPv6 address", origin)
		}
		host, rest = rest[:end+1], rest[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return fmt.Errorf("origin %q has more than scheme://host[:port]", origin)
			}
			port = rest[1:]
			if port == "" {
				return fmt.Errorf("origin %q: empty port", origin)
			}
		}
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" || "["+a.String()+"]" != host {
			return fmt.Errorf("origin %q: host is not a canonical IPv6 address", origin)
		}
	} else {
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i+1:]
			if port == "" {
				return fmt.Errorf("origin %q: empty port", origin)
			}
		}
		if !isHostname(host) {
			return fmt.Errorf("origin %q: host %q is not a lower-case DNS name or IPv4 address", origin, host)
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || !isDigits(port) || port[0] == '0' || n < 1 || n > 65535 {
			return fmt.Errorf("origin %q: port %q is not 1 to 65535", origin, port)
		}
		if port == defPort {
			return fmt.Errorf("origin %q: default port %s must be omitted", origin, port)
		}
	}
	return nil
}

// isHostname: dot-separated labels of 1 to 63 lower-case letters, digits
// and hyphens (not at either end), 253 bytes at most. IPv4 addresses pass
// as such names; a dotted-quad must be canonical.
func isHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	// All-numeric last label: must be a canonical IPv4 address.
	last := h[strings.LastIndexByte(h, '.')+1:]
	if isDigits(last) {
		a, err := netip.ParseAddr(h)
		return err == nil && a.Is4() && a.String() == h
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// isSSN: 18 characters, 17 digits then a digit or X (GB 11643). The check
// digit is not verified: the card's data is what it is, and the signature
// covers it.
func isSSN(s string) bool {
	if len(s) != 18 || !isDigits(s[:17]) {
		return false
	}
	c := s[17]
	return c >= '0' && c <= '9' || c == 'X'
}

// isDate reports whether s is a valid calendar date in layout (exactly
// as formatted: fixed width, digits only).
func isDate(layout, s string) bool {
	if len(s) != len(layout) || !isDigits(s) {
		return false
	}
	t, err := time.Parse(layout, s)
	return err == nil && t.Format(layout) == s
}
