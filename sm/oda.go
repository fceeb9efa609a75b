package sm

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
)

// PBOC 3.0 (JR/T 0025) offline data authentication with SM2 (ssc-facts
// §4.4). Unlike the RSA formats of EMV, nothing is recovered from a
// signature: each object is plain data followed by an SM2 signature r || s
// (64 bytes) over the data before it, concatenated with what the terminal
// adds (static data to be authenticated, DDOL data). The digest is the
// usual SM2 e = SM3(Z || M) with the signer id DefaultSignerID unless
// configured otherwise (sim-profile §6).
//
// Layouts (offsets in bytes):
//
//	issuer PK cert (tag 90), format 12, 142 bytes:
//	  0 format 12 | 1 issuer id (4, cn, leftmost 3-8 PAN digits, F-padded)
//	  | 5 expiry MMYY (2, BCD) | 7 serial (3) | 10 hash algorithm indicator
//	  | 11 PK algorithm indicator | 12 PK parameter indicator
//	  | 13 PK length (40) | 14 PK X||Y (64) | 78 signature (64)
//	  signed: bytes 0..77, by the CA key (RID + index from the terminal table)
//
//	ICC PK cert (tag 9F46), format 14, 148 bytes:
//	  0 format 14 | 1 PAN (10, cn, F-padded) | 11 expiry MMYY | 13 serial (3)
//	  | 16 hash | 17 PK alg | 18 PK params | 19 PK length (40) | 20 PK (64)
//	  | 84 signature (64)
//	  signed: bytes 0..83 || static data to be authenticated, by the issuer
//
//	signed static application data (tag 93), format 13, 67 bytes:
//	  0 format 13 | 1 data authentication code (2) | 3 signature (64)
//	  signed: bytes 0..2 || static data to be authenticated (the caller
//	  appends the AIP where the AFL says so), by the issuer
//
//	signed dynamic application data (tag 9F4B), format 15 (DDA) or 16
//	(fDDA), 2+L+64 bytes:
//	  0 format | 1 L | 2 ICC dynamic data (L) | 2+L signature (64)
//	  signed: bytes 0..1+L || terminal dynamic data (DDOL / fDDA data such
//	  as 9F37), by the ICC key
//
// The meaning of the three indicator bytes is an open point of the public
// sources (ssc-facts §8.8); this package expects hash 07 (SM3) and PK
// algorithm 04 (SM2), as terminal CA key tables use, and writes parameter
// indicator 00 (a SIM choice).

// Format bytes and indicators of the SM2 ODA objects.
const (
	ODAFormatIssuerCert byte = 0x12 // issuer public key certificate
	ODAFormatSSAD       byte = 0x13 // signed static application data
	ODAFormatICCCert    byte = 0x14 // ICC public key certificate
	ODAFormatDDA        byte = 0x15 // signed dynamic application data (DDA)
	ODAFormatFDDA       byte = 0x16 // signed dynamic application data (fDDA)

	ODAHashSM3      byte = 0x07 // hash algorithm indicator: SM3
	ODAAlgSM2       byte = 0x04 // public key algorithm indicator: SM2
	ODAParamsSIMSM2 byte = 0x00 // public key parameter indicator written by the builders (SIM choice)
)

// Sizes of the fixed-length SM2 ODA objects.
const (
	ODAIssuerCertSize = 142
	ODAICCCertSize    = 148
	ODASSADSize       = 67
	odaPKLen          = 0x40
	odaIssuerSigned   = 78 // bytes of an issuer cert covered by its signature
	odaICCSigned      = 84 // bytes of an ICC cert covered by its signature (before the static data)
)

// Errors of the ODA functions. Parsing errors wrap ErrODAFormat (and
// ErrLength for a wrong size). Verification errors wrap the step that
// failed — ErrIssuerCert, ErrICCCert, ErrSDA or ErrDDA — together with the
// cause: ErrODAFormat, ErrCAKeyNotFound, ErrCertExpiredODA, ErrPANMismatch,
// ErrODAAlgorithm, ErrSM2PublicKey or ErrSM2Verify (bad signature).
var (
	ErrODAFormat      = errors.New("sm: malformed ODA data")
	ErrIssuerCert     = errors.New("sm: issuer public key certificate rejected")
	ErrICCCert        = errors.New("sm: ICC public key certificate rejected")
	ErrSDA            = errors.New("sm: signed static application data rejected")
	ErrDDA            = errors.New("sm: signed dynamic application data rejected")
	ErrCAKeyNotFound  = errors.New("sm: CA public key not found")
	ErrCertExpiredODA = errors.New("sm: ODA certificate expired")
	ErrPANMismatch    = errors.New("sm: PAN does not match the certificate")
	ErrODAAlgorithm   = errors.New("sm: unsupported ODA algorithm indicator")
)

// IssuerCert is an SM2 issuer public key certificate (format 12).
type IssuerCert struct {
	IssuerID  [4]byte // leftmost 3-8 digits of the PAN, cn, F-padded
	Expiry    [2]byte // MMYY, BCD
	Serial    [3]byte
	HashAlg   byte     // ODAHashSM3
	PKAlg     byte     // ODAAlgSM2
	PKParams  byte     // ODAParamsSIMSM2
	PublicKey [64]byte // issuer public key X || Y
	Signature [64]byte // CA signature r || s
}

// ICCCert is an SM2 ICC public key certificate (format 14).
type ICCCert struct {
	PAN       [10]byte // application PAN, cn, F-padded
	Expiry    [2]byte  // MMYY, BCD
	Serial    [3]byte
	HashAlg   byte
	PKAlg     byte
	PKParams  byte
	PublicKey [64]byte // ICC public key X || Y
	Signature [64]byte // issuer signature r || s
}

// SignedStaticData is SM2 signed static application data (format 13).
type SignedStaticData struct {
	DAC       [2]byte // data authentication code
	Signature [64]byte
}

// DynamicSignature is SM2 signed dynamic application data (format 15 for
// DDA, 16 for fDDA).
type DynamicSignature struct {
	Format      byte
	DynamicData []byte // ICC dynamic data, at most 255 bytes
	Signature   [64]byte
}

func odaFormatErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrODAFormat}, a...)...)
}

func odaLenErr(what string, got, want int) error {
	return fmt.Errorf("%w: %w: %s is %d bytes, want %d", ErrODAFormat, ErrLength, what, got, want)
}

// odaExpiryEnd returns the first instant (UTC) after an MMYY expiry date:
// the card data is valid through the last day of month MM of year YY
// (00-49 = 20YY, 50-99 = 19YY, as EMV terminals read it).
func odaExpiryEnd(mmyy [2]byte) (time.Time, error) {
	mm, ok1 := odaBCD(mmyy[0])
	yy, ok2 := odaBCD(mmyy[1])
	if !ok1 || !ok2 || mm < 1 || mm > 12 {
		return time.Time{}, odaFormatErr("expiry %X is not MMYY", mmyy[:])
	}
	year := 2000 + yy
	if yy >= 50 {
		year = 1900 + yy
	}
	return time.Date(year, time.Month(mm)+1, 1, 0, 0, 0, 0, time.UTC), nil
}

func odaBCD(b byte) (int, bool) {
	hi, lo := b>>4, b&0x0F
	if hi > 9 || lo > 9 {
		return 0, false
	}
	return int(hi)*10 + int(lo), true
}

// odaDigits decodes compressed numeric (cn) data: decimal digits, one per
// nibble, right-padded with F nibbles. It requires at least one digit.
func odaDigits(b []byte) (string, error) {
	digits := make([]byte, 0, 2*len(b))
	pad := false
	for _, c := range b {
		for _, n := range [2]byte{c >> 4, c & 0x0F} {
			switch {
			case n == 0x0F:
				pad = true
			case n <= 9 && !pad:
				digits = append(digits, '0'+n)
			default:
				return "", odaFormatErr("%X is not compressed numeric", b)
			}
		}
	}
	if len(digits) == 0 {
		return "", odaFormatErr("%X has no digits", b)
	}
	return string(digits), nil
}

// ParseIssuerCert parses an SM2 issuer public key certificate (tag 90,
// format 12). It checks the structure only — size, format byte, PK length
// and the expiry encoding — not the signature or the key.
func ParseIssuerCert(b []byte) (*IssuerCert, error) {
	if len(b) != ODAIssuerCertSize {
		return nil, odaLenErr("issuer certificate", len(b), ODAIssuerCertSize)
	}
	if b[0] != ODAFormatIssuerCert {
		return nil, odaFormatErr("issuer certificate format %02X, want 12", b[0])
	}
	if b[13] != odaPKLen {
		return nil, odaFormatErr("issuer public key length %d, want 64", b[13])
	}
	c := &IssuerCert{HashAlg: b[10], PKAlg: b[11], PKParams: b[12]}
	copy(c.IssuerID[:], b[1:5])
	copy(c.Expiry[:], b[5:7])
	copy(c.Serial[:], b[7:10])
	copy(c.PublicKey[:], b[14:78])
	copy(c.Signature[:], b[78:142])
	if _, err := odaExpiryEnd(c.Expiry); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *IssuerCert) signedPart() []byte {
	b := make([]byte, 0, ODAIssuerCertSize)
	b = append(b, ODAFormatIssuerCert)
	b = append(b, c.IssuerID[:]...)
	b = append(b, c.Expiry[:]...)
	b = append(b, c.Serial[:]...)
	b = append(b, c.HashAlg, c.PKAlg, c.PKParams, odaPKLen)
	return append(b, c.PublicKey[:]...)
}

// Bytes returns the 142-byte encoding of the certificate.
func (c *IssuerCert) Bytes() []byte {
	return append(c.signedPart(), c.Signature[:]...)
}

// Key returns the issuer public key, checked to be on the curve.
func (c *IssuerCert) Key() (*ecdsa.PublicKey, error) { return ParsePublicKeyXY(c.PublicKey[:]) }

// ParseICCCert parses an SM2 ICC public key certificate (tag 9F46, format
// 14); structure only, like ParseIssuerCert.
func ParseICCCert(b []byte) (*ICCCert, error) {
	if len(b) != ODAICCCertSize {
		return nil, odaLenErr("ICC certificate", len(b), ODAICCCertSize)
	}
	if b[0] != ODAFormatICCCert {
		return nil, odaFormatErr("ICC certificate format %02X, want 14", b[0])
	}
	if b[19] != odaPKLen {
		return nil, odaFormatErr("ICC public key length %d, want 64", b[19])
	}
	c := &ICCCert{HashAlg: b[16], PKAlg: b[17], PKParams: b[18]}
	copy(c.PAN[:], b[1:11])
	copy(c.Expiry[:], b[11:13])
	copy(c.Serial[:], b[13:16])
	copy(c.PublicKey[:], b[20:84])
	copy(c.Signature[:], b[84:148])
	if _, err := odaExpiryEnd(c.Expiry); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *ICCCert) signedPart() []byte {
	b := make([]byte, 0, ODAICCCertSize)
	b = append(b, ODAFormatICCCert)
	b = append(b, c.PAN[:]...)
	b = append(b, c.Expiry[:]...)
	b = append(b, c.Serial[:]...)
	b = append(b, c.HashAlg, c.PKAlg, c.PKParams, odaPKLen)
	return append(b, c.PublicKey[:]...)
}

// Bytes returns the 148-byte encoding of the certificate.
func (c *ICCCert) Bytes() []byte {
	return append(c.signedPart(), c.Signature[:]...)
}

// Key returns the ICC public key, checked to be on the curve.
func (c *ICCCert) Key() (*ecdsa.PublicKey, error) { return ParsePublicKeyXY(c.PublicKey[:]) }

// ParseSignedStaticData parses SM2 signed static application data (tag 93,
// format 13).
func ParseSignedStaticData(b []byte) (*SignedStaticData, error) {
	if len(b) != ODASSADSize {
		return nil, odaLenErr("signed static data", len(b), ODASSADSize)
	}
	if b[0] != ODAFormatSSAD {
		return nil, odaFormatErr("signed static data format %02X, want 13", b[0])
	}
	s := &SignedStaticData{}
	copy(s.DAC[:], b[1:3])
	copy(s.Signature[:], b[3:])
	return s, nil
}

// Bytes returns the 67-byte encoding.
func (s *SignedStaticData) Bytes() []byte {
	return append([]byte{ODAFormatSSAD, s.DAC[0], s.DAC[1]}, s.Signature[:]...)
}

// ParseDynamicSignature parses SM2 signed dynamic application data (tag
// 9F4B): format 15 (DDA) or 16 (fDDA), a length byte L, L bytes of ICC
// dynamic data and the 64-byte signature, nothing more.
func ParseDynamicSignature(b []byte) (*DynamicSignature, error) {
	if len(b) < 2+SM2SignatureSize {
		return nil, fmt.Errorf("%w: %w: signed dynamic data is %d bytes, want at least %d", ErrODAFormat, ErrLength, len(b), 2+SM2SignatureSize)
	}
	if b[0] != ODAFormatDDA && b[0] != ODAFormatFDDA {
		return nil, odaFormatErr("signed dynamic data format %02X, want 15 or 16", b[0])
	}
	n := int(b[1])
	if want := 2 + n + SM2SignatureSize; len(b) != want {
		return nil, odaLenErr("signed dynamic data", len(b), want)
	}
	s := &DynamicSignature{Format: b[0], DynamicData: append([]byte(nil), b[2:2+n]...)}
	copy(s.Signature[:], b[2+n:])
	return s, nil
}

func (s *DynamicSignature) signedPart() []byte {
	b := make([]byte, 0, 2+len(s.DynamicData)+SM2SignatureSize)
	b = append(b, s.Format, byte(len(s.DynamicData)))
	return append(b, s.DynamicData...)
}

// Bytes returns the encoding 15|16 || L || dynamic data || signature.
func (s *DynamicSignature) Bytes() []byte {
	return append(s.signedPart(), s.Signature[:]...)
}

// ICCDynamicNumber returns the ICC dynamic number inside the ICC dynamic
// data: its first byte is the length (2 to 8) of the number that follows.
func (s *DynamicSignature) ICCDynamicNumber() ([]byte, error) {
	d := s.DynamicData
	if len(d) < 1 || d[0] < 2 || d[0] > 8 || int(d[0]) > len(d)-1 {
		return nil, odaFormatErr("ICC dynamic data %X has no valid ICC dynamic number", d)
	}
	return d[1 : 1+d[0]], nil
}

// Sizes of PBOC certificate fields.
const (
	PBOCIssuerIDSize = 4  // issuer identifier of an issuer certificate (cn, F-padded)
	PBOCPANFieldSize = 10 // PAN field of an ICC certificate (cn, F-padded)
)

// CAKeyID identifies a payment-system CA public key in a terminal: the
// RID (5 bytes) and the CA public key index (tag 8F).
type CAKeyID struct {
	RID   [5]byte
	Index byte
}

// CAKeyTable is a terminal's table of SM2 CA public keys. It is safe for
// concurrent use.
type CAKeyTable struct {
	mu   sync.RWMutex
	keys map[CAKeyID]*ecdsa.PublicKey
}

// NewCAKeyTable returns an empty table.
func NewCAKeyTable() *CAKeyTable {
	return &CAKeyTable{keys: make(map[CAKeyID]*ecdsa.PublicKey)}
}

func odaKeyID(rid []byte, index byte) (CAKeyID, error) {
	if len(rid) != 5 {
		return CAKeyID{}, fmt.Errorf("%w: RID is %d bytes, want 5", ErrLength, len(rid))
	}
	return CAKeyID{RID: [5]byte(rid), Index: index}, nil
}

// Add stores the SM2 CA public key X || Y (64 bytes) for a RID and index,
// replacing any previous one. The key must be on the curve.
func (t *CAKeyTable) Add(rid []byte, index byte, xy []byte) error {
	id, err := odaKeyID(rid, index)
	if err != nil {
		return err
	}
	pub, err := ParsePublicKeyXY(xy)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = make(map[CAKeyID]*ecdsa.PublicKey)
	}
	t.keys[id] = pub
	return nil
}

// Lookup returns the CA public key for a RID and index, or an error
// wrapping ErrCAKeyNotFound.
func (t *CAKeyTable) Lookup(rid []byte, index byte) (*ecdsa.PublicKey, error) {
	id, err := odaKeyID(rid, index)
	if err != nil {
		return nil, err
	}
	if t != nil {
		t.mu.RLock()
		pub, ok := t.keys[id]
		t.mu.RUnlock()
		if ok {
			return pub, nil
		}
	}
	return nil, fmt.Errorf("%w: RID %X index %02X", ErrCAKeyNotFound, rid, index)
}

// Len returns the number of keys in the table.
func (t *CAKeyTable) Len() int {
	if t == nil {
		return 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.keys)
}

// ODAVerifier verifies SM2 offline data authentication objects the way a
// terminal does. The zero value has no CA keys.
type ODAVerifier struct {
	// CAKeys is the terminal's CA public key table.
	CAKeys *CAKeyTable
	// SignerID is the SM2 signer id of every ODA signature; nil or empty
	// means DefaultSignerID (sim-profile §6).
	SignerID []byte
	// Time is the date the expiry dates are checked against; zero means
	// time.Now(). Certificates are valid through the last day (UTC) of
	// their expiry month.
	Time time.Time
	// AnyIndicators accepts hash and public key algorithm indicators other
	// than 07 (SM3) and 04 (SM2); by default they are rejected with
	// ErrODAAlgorithm.
	AnyIndicators bool
}

func (v *ODAVerifier) now() time.Time {
	if v.Time.IsZero() {
		return time.Now()
	}
	return v.Time
}

func (v *ODAVerifier) checkCommon(step error, expiry [2]byte, hash, alg byte) error {
	if !v.AnyIndicators && (hash != ODAHashSM3 || alg != ODAAlgSM2) {
		return fmt.Errorf("%w: %w: hash %02X, algorithm %02X (want 07, 04)", step, ErrODAAlgorithm, hash, alg)
	}
	end, err := odaExpiryEnd(expiry)
	if err != nil {
		return fmt.Errorf("%w: %w", step, err)
	}
	if !v.now().Before(end) {
		return fmt.Errorf("%w: %w: expiry %02X/%02X", step, ErrCertExpiredODA, expiry[0], expiry[1])
	}
	return nil
}

// verify checks an SM2 signature of parts joined, without copying the
// message when there is a single part.
func (v *ODAVerifier) verify(pub *ecdsa.PublicKey, sig []byte, parts ...[]byte) error {
	msg := parts[0]
	if len(parts) > 1 {
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		msg = make([]byte, 0, n)
		for _, p := range parts {
			msg = append(msg, p...)
		}
	}
	return Verify(pub, v.SignerID, msg, sig)
}

// VerifyIssuerCert verifies an issuer public key certificate (tag 90) with
// the CA key of rid and caIndex (tag 8F) and the application PAN (tag 5A,
// cn): format, CA key present, signature, indicators, issuer identifier =
// leading PAN digits, expiry. Errors wrap ErrIssuerCert and the cause.
func (v *ODAVerifier) VerifyIssuerCert(rid []byte, caIndex byte, cert, pan []byte) (*IssuerCert, error) {
	c, err := ParseIssuerCert(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerCert, err)
	}
	caPub, err := v.CAKeys.Lookup(rid, caIndex)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerCert, err)
	}
	if err := v.verify(caPub, c.Signature[:], cert[:odaIssuerSigned]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerCert, err)
	}
	issuerID, err := odaDigits(c.IssuerID[:])
	if err != nil {
		return nil, fmt.Errorf("%w: issuer identifier: %w", ErrIssuerCert, err)
	}
	panDigits, err := odaDigits(pan)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: PAN: %w", ErrIssuerCert, ErrPANMismatch, err)
	}
	if len(issuerID) < 3 || len(issuerID) > len(panDigits) || panDigits[:len(issuerID)] != issuerID {
		return nil, fmt.Errorf("%w: %w: issuer identifier %s, PAN %s", ErrIssuerCert, ErrPANMismatch, issuerID, panDigits)
	}
	if err := v.checkCommon(ErrIssuerCert, c.Expiry, c.HashAlg, c.PKAlg); err != nil {
		return nil, err
	}
	if _, err := c.Key(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIssuerCert, err)
	}
	return c, nil
}

// VerifyICCCert verifies an ICC public key certificate (tag 9F46) with the
// issuer certificate's key, the static data to be authenticated (records
// flagged by the AFL, then the AIP where required) and the application PAN
// (tag 5A): format, signature, indicators, PAN, expiry. Errors wrap
// ErrICCCert and the cause.
func (v *ODAVerifier) VerifyICCCert(issuer *IssuerCert, cert, staticData, pan []byte) (*ICCCert, error) {
	c, err := ParseICCCert(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrICCCert, err)
	}
	if issuer == nil {
		return nil, fmt.Errorf("%w: no issuer certificate", ErrICCCert)
	}
	issuerPub, err := issuer.Key()
	if err != nil {
		return nil, fmt.Errorf("%w: issuer key: %w", ErrICCCert, err)
	}
	if err := v.verify(issuerPub, c.Signature[:], cert[:odaICCSigned], staticData); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrICCCert, err)
	}
	certPAN, err := odaDigits(c.PAN[:])
	if err != nil {
		return nil, fmt.Errorf("%w: certificate PAN: %w", ErrICCCert, err)
	}
	panDigits, err := odaDigits(pan)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: PAN: %w", ErrICCCert, ErrPANMismatch, err)
	}
	if certPAN != panDigits {
		return nil, fmt.Errorf("%w: %w: certificate PAN %s, application PAN %s", ErrICCCert, ErrPANMismatch, certPAN, panDigits)
	}
	if err := v.checkCommon(ErrICCCert, c.Expiry, c.HashAlg, c.PKAlg); err != nil {
		return nil, err
	}
	if _, err := c.Key(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrICCCert, err)
	}
	return c, nil
}

// VerifyCertificates runs VerifyIssuerCert then VerifyICCCert: the two
// certificate steps of DDA/fDDA.
func (v *ODAVerifier) VerifyCertificates(rid []byte, caIndex byte, issuerCert, iccCert, staticData, pan []byte) (*IssuerCert, *ICCCert, error) {
	ic, err := v.VerifyIssuerCert(rid, caIndex, issuerCert, pan)
	if err != nil {
		return nil, nil, err
	}
	cc, err := v.VerifyICCCert(ic, iccCert, staticData, pan)
	if err != nil {
		return ic, nil, err
	}
	return ic, cc, nil
}

// VerifySignedStaticData verifies signed static application data (tag 93,
// SDA) with the issuer key over 13 || DAC || staticData. Errors wrap ErrSDA
// and the cause.
func (v *ODAVerifier) VerifySignedStaticData(issuer *IssuerCert, ssad, staticData []byte) (*SignedStaticData, error) {
	s, err := ParseSignedStaticData(ssad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSDA, err)
	}
	if issuer == nil {
		return nil, fmt.Errorf("%w: no issuer certificate", ErrSDA)
	}
	pub, err := issuer.Key()
	if err != nil {
		return nil, fmt.Errorf("%w: issuer key: %w", ErrSDA, err)
	}
	if err := v.verify(pub, s.Signature[:], ssad[:3], staticData); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSDA, err)
	}
	return s, nil
}

// VerifyDynamicSignature verifies signed dynamic application data (tag
// 9F4B, DDA or fDDA) with the ICC key over format || L || ICC dynamic data
// || terminalData (the DDOL data, e.g. the unpredictable number 9F37, or the
// fDDA terminal data). Errors wrap ErrDDA and the cause.
func (v *ODAVerifier) VerifyDynamicSignature(icc *ICCCert, sdad, terminalData []byte) (*DynamicSignature, error) {
	s, err := ParseDynamicSignature(sdad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDDA, err)
	}
	if icc == nil {
		return nil, fmt.Errorf("%w: no ICC certificate", ErrDDA)
	}
	pub, err := icc.Key()
	if err != nil {
		return nil, fmt.Errorf("%w: ICC key: %w", ErrDDA, err)
	}
	if err := v.verify(pub, s.Signature[:], sdad[:len(sdad)-SM2SignatureSize], terminalData); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDDA, err)
	}
	return s, nil
}

// Builders. They sign deterministically (see SignDigest), so the software
// card and the tests produce identical bytes. signerID nil or empty means
// DefaultSignerID. Zero HashAlg and PKAlg are written as 07 (SM3) and 04
// (SM2).

func odaDefaults(hash, alg *byte) {
	if *hash == 0 && *alg == 0 {
		*hash, *alg = ODAHashSM3, ODAAlgSM2
	}
}

// SignIssuerCert signs an issuer public key certificate with the CA key
// and returns its 142-byte encoding. c.Signature is ignored; c.Expiry must
// be a valid MMYY and c.PublicKey a point on the curve.
func SignIssuerCert(caKey *sm2.PrivateKey, c IssuerCert, signerID []byte) ([]byte, error) {
	odaDefaults(&c.HashAlg, &c.PKAlg)
	if _, err := odaExpiryEnd(c.Expiry); err != nil {
		return nil, err
	}
	if _, err := c.Key(); err != nil {
		return nil, err
	}
	sig, err := Sign(caKey, signerID, c.signedPart())
	if err != nil {
		return nil, err
	}
	copy(c.Signature[:], sig)
	return c.Bytes(), nil
}

// SignICCCert signs an ICC public key certificate with the issuer key over
// the certificate body || staticData and returns its 148-byte encoding.
func SignICCCert(issuerKey *sm2.PrivateKey, c ICCCert, staticData, signerID []byte) ([]byte, error) {
	odaDefaults(&c.HashAlg, &c.PKAlg)
	if _, err := odaExpiryEnd(c.Expiry); err != nil {
		return nil, err
	}
	if _, err := c.Key(); err != nil {
		return nil, err
	}
	sig, err := Sign(issuerKey, signerID, append(c.signedPart(), staticData...))
	if err != nil {
		return nil, err
	}
	copy(c.Signature[:], sig)
	return c.Bytes(), nil
}

// SignStaticData produces signed static application data (format 13) with
// the issuer key over 13 || dac || staticData; 67 bytes.
func SignStaticData(issuerKey *sm2.PrivateKey, dac [2]byte, staticData, signerID []byte) ([]byte, error) {
	s := SignedStaticData{DAC: dac}
	head := []byte{ODAFormatSSAD, dac[0], dac[1]}
	sig, err := Sign(issuerKey, signerID, append(head, staticData...))
	if err != nil {
		return nil, err
	}
	copy(s.Signature[:], sig)
	return s.Bytes(), nil
}

// SignDynamicData produces signed dynamic application data with the ICC
// key: format (ODAFormatDDA or ODAFormatFDDA) || L || dynamicData ||
// signature over everything before it || terminalData.
func SignDynamicData(iccKey *sm2.PrivateKey, format byte, dynamicData, terminalData, signerID []byte) ([]byte, error) {
	if format != ODAFormatDDA && format != ODAFormatFDDA {
		return nil, odaFormatErr("dynamic data format %02X, want 15 or 16", format)
	}
	if len(dynamicData) > 255 {
		return nil, fmt.Errorf("%w: %w: ICC dynamic data is %d bytes, at most 255", ErrODAFormat, ErrLength, len(dynamicData))
	}
	s := DynamicSignature{Format: format, DynamicData: dynamicData}
	sig, err := Sign(iccKey, signerID, append(s.signedPart(), terminalData...))
	if err != nil {
		return nil, err
	}
	copy(s.Signature[:], sig)
	return s.Bytes(), nil
}
