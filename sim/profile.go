package sim

import (
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"golang.org/x/text/encoding/simplifiedchinese"
	"gopkg.in/yaml.v3"
)

// DefaultProfile is the name of the built-in profile used when none is given.
const DefaultProfile = "gen3"

// Profile is the personalisation of a simulated card: what an issuer writes
// into it. Values are human-friendly (hex strings, dates as YYYYMMDD, the
// holder name in UTF-8) and are converted to the card's encodings (BCD, GBK)
// by New. Zero values of optional fields take the defaults documented on each
// field. A Profile is plain data; Validate reports every problem by field.
type Profile struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// ATRHistorical is the 13 historical bytes of the contact ATR in hex
	// (ssc-facts §5.2: chip supplier 2, COS 3, card maker 2, serial 6).
	ATRHistorical string `json:"atr_historical" yaml:"atr_historical"`
	// Contactless describes the ISO 14443 Type B interface; nil means a
	// contact-only card (like real 2nd-generation cards).
	Contactless *ContactlessProfile `json:"contactless,omitempty" yaml:"contactless,omitempty"`
	// ExtendedLength switches extended-length APDUs on (READ BINARY of up
	// to 65536 bytes in one response) or off (6700). Default: on for a
	// 3rd-gen card (ssse.version 3.xx and later), off for 2nd gen.
	ExtendedLength *bool `json:"extended_length,omitempty" yaml:"extended_length,omitempty"`
	// SSSE is the data of the social security application.
	SSSE SSSEProfile `json:"ssse" yaml:"ssse"`
	// PKI is the SM2 PKI application (ssc-facts §3.5, sim-profile §5).
	// Absent: enabled with defaults on a 3rd-gen card, disabled on 2nd gen.
	PKI *PKIProfile `json:"pki,omitempty" yaml:"pki,omitempty"`
	// PBOC is the PBOC 3.0 bank application (docs/pboc.md). Absent:
	// no bank application; present: the docs/pboc.md values fill in
	// empty fields.
	PBOC *PBOCProfile `json:"pboc,omitempty" yaml:"pboc,omitempty"`
}

// PKIProfile personalises the PKI application: the user PIN and the
// signing certificate in EF 0018 (the key pair is the SIM one of
// simkeys.CardSigningKey for the card id).
type PKIProfile struct {
	Enabled  bool   `json:"enabled" yaml:"enabled"`
	PIN      string `json:"pin,omitempty" yaml:"pin,omitempty"`             // user PIN, 6 digits, default 123456
	PINTries int    `json:"pin_tries,omitempty" yaml:"pin_tries,omitempty"` // 1..15, default 3
	// CertCommonName is the subject CN of the signing certificate; default
	// the holder name (ssse.name). The subject also has C=CN and
	// serialNumber = ssse.card_number; validity issue_date .. expiry_date.
	CertCommonName string `json:"cert_common_name,omitempty" yaml:"cert_common_name,omitempty"`
	// Blank makes the unpersonalised PKI application of docs/issuance.md
	// ("PKI personalisation — the contract"): EF 0012 all 00 (66 bytes), no
	// private key (PSO answers 6A88), EF 0018 and EF 0019 2048 × 00 bytes;
	// the issuance generates the key pair and writes the certificates. The
	// user PIN is pin / pin_tries as usual. It needs no holder data, so it
	// is allowed on a blank card (ssse.blank). Default false. Blank or not,
	// the application has the SIM admin PIN (simkeys.PKIAdminPIN, 5 tries) and
	// master key (simkeys.PKIMasterKey, 5 tries) of the card id.
	Blank bool `json:"blank,omitempty" yaml:"blank,omitempty"`
}

// ContactlessProfile is the ISO 14443-3 Type B answer (ATQB) of the card, which
// PC/SC readers turn into the contactless ATR and the UID.
type ContactlessProfile struct {
	UID          string `json:"uid" yaml:"uid"`                                         // PUPI, 4 bytes hex
	AppData      string `json:"app_data,omitempty" yaml:"app_data,omitempty"`           // 4 bytes hex, default 00000000
	ProtocolInfo string `json:"protocol_info,omitempty" yaml:"protocol_info,omitempty"` // 3 bytes hex, default 008181
	MBLICID      string `json:"mbli_cid,omitempty" yaml:"mbli_cid,omitempty"`           // 1 byte hex (MBLI high nibble), default 00
}

// SSSEProfile is the personalisation of the SSSE application: EF05 (card
// identification, ssc-facts §1.4), EF06 (holder, §1.5) and the PIN.
type SSSEProfile struct {
	CardID      string `json:"card_id" yaml:"card_id"`         // 卡识别码, 32 hex chars (16 bytes): region(3) D156000005 + 8 bytes
	Category    string `json:"category" yaml:"category"`       // 卡类别, 1 character, e.g. "3"
	Version     string `json:"version" yaml:"version"`         // 规范版本 "3.00" (3rd gen) or "1.00"/"2.00" (2nd gen)
	Institution string `json:"institution" yaml:"institution"` // 初始化机构编号, 24 hex chars (12 bytes)
	IssueDate   string `json:"issue_date" yaml:"issue_date"`   // 发卡日期 YYYYMMDD
	ExpiryDate  string `json:"expiry_date" yaml:"expiry_date"` // 卡有效期 YYYYMMDD
	CardNumber  string `json:"card_number" yaml:"card_number"` // 卡号, 9 characters
	SSN         string `json:"ssn" yaml:"ssn"`                 // 社会保障号码, 17 digits + check character
	Name        string `json:"name" yaml:"name"`               // 姓名 in UTF-8; stored GBK, padded to 30 bytes
	NameExt     string `json:"name_ext,omitempty" yaml:"name_ext,omitempty"`
	// NamePadding pads name and name_ext: "space" (0x20, default) or "zero" (0x00).
	NamePadding string `json:"name_padding,omitempty" yaml:"name_padding,omitempty"`
	Sex         string `json:"sex" yaml:"sex"`                                 // GB/T 2261.1: "1" male, "2" female, "0", "9"
	Ethnicity   string `json:"ethnicity" yaml:"ethnicity"`                     // GB/T 3304, two digits, "01" = Han
	Birthplace  string `json:"birthplace" yaml:"birthplace"`                   // 6-digit region code; trailing F padding allowed ("4116FF")
	BirthDate   string `json:"birth_date" yaml:"birth_date"`                   // YYYYMMDD
	PIN         string `json:"pin,omitempty" yaml:"pin,omitempty"`             // 6 digits, default 123456
	PINTries    int    `json:"pin_tries,omitempty" yaml:"pin_tries,omitempty"` // 1..15, default 3
	// Public is the PIN-protected public data of DF01 (ssc-facts §1.6);
	// empty fields take SIM sample values.
	Public *PublicDataProfile `json:"public,omitempty" yaml:"public,omitempty"`
	// FingerprintSize is the size of EF07 (fingerprint template, SIM
	// pseudo-random bytes), 1..32767; default 768 (0x300, ssc-facts §1.6).
	FingerprintSize int `json:"fingerprint_size,omitempty" yaml:"fingerprint_size,omitempty"`
	// Photo is the content of EF08: "builtin" (default; the made-up JPEG
	// profiles/photo.jpg) or "none" (no EF08).
	Photo string `json:"photo,omitempty" yaml:"photo,omitempty"`
	// Blank makes a card as it leaves the factory, before the counter
	// issuance (issue #9): the fields the issuance writes — issue_date,
	// expiry_date, card_number (EF05 records 5–7) and ssn, name, name_ext,
	// sex, ethnicity, birthplace, birth_date (every EF06 record) — must be
	// empty, and their records hold the record's fixed length of 00 bytes.
	// card_id, category, version and institution are personalised as usual.
	// A personalised PKI application needs holder data for its
	// certificate, so it is disabled by default and pki.enabled: true is an
	// error unless pki.blank is true too. Default false.
	Blank bool `json:"blank,omitempty" yaml:"blank,omitempty"`
	// Blocked personalises an invalidated (blocked) SSSE application, as
	// after the card was reported lost: SELECT answers 6283 and every other
	// command inside it 6985 (SIM choice; real COSes vary).
	Blocked bool `json:"blocked,omitempty" yaml:"blocked,omitempty"`
}

// PublicDataProfile is a SIM sample of DF01 (公共应用, ssc-facts §1.6), read
// with READ RECORD after VERIFY of the SSSE PIN: EF05 (户籍) records 20, 21,
// 0E and EF06 (常住地) records 23, 24. The tag meanings are SIM choices.
type PublicDataProfile struct {
	HukouType        string `json:"hukou_type,omitempty" yaml:"hukou_type,omitempty"`               // tag 20: 户口性质, 2 digits, default "10"
	HukouAddress     string `json:"hukou_address,omitempty" yaml:"hukou_address,omitempty"`         // tag 21: 户籍所在地址, UTF-8, GBK on the card padded to 80 bytes
	HukouRegion      string `json:"hukou_region,omitempty" yaml:"hukou_region,omitempty"`           // tag 0E: 户籍所在地区划, 6 digits, BCD (3 bytes); default ssse.birthplace
	ResidenceAddress string `json:"residence_address,omitempty" yaml:"residence_address,omitempty"` // tag 23: 常住所在地址, like hukou_address
	ResidenceRegion  string `json:"residence_region,omitempty" yaml:"residence_region,omitempty"`   // tag 24: 常住所在地区划, like hukou_region
}

// Defaults of optional profile fields.
const (
	defaultPIN          = "123456"
	defaultPINTries     = 3
	defaultAppData      = "00000000"
	defaultProtocolInfo = "008181" // 106 kbit/s only; 256-byte frames, ISO 14443-4; FWI 8, CID supported
	defaultMBLICID      = "00"
	defaultHukouType    = "10"
	defaultFingerprint  = 0x300
	photoBuiltin        = "builtin"
	photoNone           = "none"
	maxBinaryEF         = 0x7FFF           // READ BINARY offsets are 15 bits
	defaultAddress      = "河南省周口市川汇区人民路1号" // SIM sample
	paddingSpace        = "space"
	paddingZero         = "zero"
)

// Field sizes on the card.
const (
	histLen        = 13
	cardIDLen      = 16
	institutionLen = 12
	cardNumberLen  = 9
	ssnLen         = 18
	nameLen        = 30
	nameExtLen     = 20
	addressLen     = 80
	dateLen        = 4 // BCD YYYYMMDD
	birthplaceLen  = 3 // BCD region code
)

// clone returns a deep copy.
func (p *Profile) clone() *Profile {
	q := *p
	if p.Contactless != nil {
		cl := *p.Contactless
		q.Contactless = &cl
	}
	if p.SSSE.Public != nil {
		pub := *p.SSSE.Public
		q.SSSE.Public = &pub
	}
	if p.PKI != nil {
		pki := *p.PKI
		q.PKI = &pki
	}
	q.PBOC = p.PBOC.clone()
	return &q
}

// withDefaults returns a copy with the defaults of empty optional fields
// filled in.
func (p *Profile) withDefaults() *Profile {
	q := p.clone()
	s := &q.SSSE
	if s.PIN == "" {
		s.PIN = defaultPIN
	}
	if s.PINTries == 0 {
		s.PINTries = defaultPINTries
	}
	if s.NamePadding == "" {
		s.NamePadding = paddingSpace
	}
	if q.ExtendedLength == nil {
		v := len(s.Version) > 0 && s.Version[0] >= '3' && s.Version[0] <= '9'
		q.ExtendedLength = &v
	}
	if q.PKI == nil {
		q.PKI = &PKIProfile{Enabled: len(s.Version) > 0 && s.Version[0] >= '3' && s.Version[0] <= '9' && !s.Blank}
	}
	if q.PKI.PIN == "" {
		q.PKI.PIN = defaultPIN
	}
	if q.PKI.PINTries == 0 {
		q.PKI.PINTries = defaultPINTries
	}
	if q.PBOC != nil {
		q.PBOC.withDefaults()
	}
	if s.FingerprintSize == 0 {
		s.FingerprintSize = defaultFingerprint
	}
	if s.Photo == "" {
		s.Photo = photoBuiltin
	}
	if s.Public == nil {
		s.Public = &PublicDataProfile{}
	}
	pub := s.Public
	if pub.HukouType == "" {
		pub.HukouType = defaultHukouType
	}
	if pub.HukouAddress == "" {
		pub.HukouAddress = defaultAddress
	}
	if pub.ResidenceAddress == "" {
		pub.ResidenceAddress = pub.HukouAddress
	}
	if pub.HukouRegion == "" {
		pub.HukouRegion = strings.TrimRight(s.Birthplace, "Ff")
		if len(pub.HukouRegion) != 6 {
			pub.HukouRegion = "411602" // SIM sample when birthplace is padded
		}
	}
	if pub.ResidenceRegion == "" {
		pub.ResidenceRegion = pub.HukouRegion
	}
	if cl := q.Contactless; cl != nil {
		if cl.AppData == "" {
			cl.AppData = defaultAppData
		}
		if cl.ProtocolInfo == "" {
			cl.ProtocolInfo = defaultProtocolInfo
		}
		if cl.MBLICID == "" {
			cl.MBLICID = defaultMBLICID
		}
	}
	return q
}

// Validate checks every field and reports all problems, each naming its
// field (e.g. "ssse.card_id").
func (p *Profile) Validate() error {
	if p == nil {
		return errors.New("sim: nil profile")
	}
	_, err := p.withDefaults().compile()
	return err
}

// personalisation is a validated profile in card encodings.
type personalisation struct {
	hist []byte
	cl   *contactlessData

	cardID, category, version    []byte
	gen3                         bool // 3rd-gen access rules (version 3.00 and later)
	institution, issue, expiry   []byte
	cardNumber, ssn, name, ext   []byte
	sex, ethnicity               byte
	birthplace, birthDate, pinBC []byte
	pinTries                     int

	extended        bool
	blocked         bool // SSSE invalidated
	fingerprintSize int
	photo           []byte // nil: no EF08

	pki  *pkiData  // nil: no PKI application
	pboc *pbocData // nil: no PBOC application

	// DF01 public data.
	hukouType, hukouAddress, hukouRegion []byte
	residenceAddress, residenceRegion    []byte
}

// pkiData is the personalisation of the PKI application.
type pkiData struct {
	pin     string // decimal
	pinBCD  []byte
	tries   int
	key     *sm2.PrivateKey
	pubFile []byte // EF 0012
	cert    []byte // EF 0018, DER
	// blank: the unpersonalised application (pki.blank); adminPIN and
	// masterKey: simkeys.PKIAdminPIN and simkeys.PKIMasterKey of the card id.
	blank     bool
	adminPIN  [4]byte
	masterKey [16]byte
	// The encryption pair (pki_envelope.go): encKey (nil: none), EF 0014
	// (encPubFile) and EF 0019 (encCert, DER; the blank application:
	// 2048 × 00).
	encKey     *sm2.PrivateKey
	encPubFile []byte
	encCert    []byte
}

type contactlessData struct {
	uid, appData, protocolInfo []byte
	mbliCID                    byte
}

// fieldErrors collects validation errors.
type fieldErrors struct {
	profile string
	errs    []error
}

func (fe *fieldErrors) add(field, format string, args ...any) {
	fe.errs = append(fe.errs, fmt.Errorf("sim: profile %q: %s: %s", fe.profile, field, fmt.Sprintf(format, args...)))
}

func (fe *fieldErrors) err() error { return errors.Join(fe.errs...) }

// hexField decodes a hex field of exactly n bytes (spaces allowed between
// bytes).
func (fe *fieldErrors) hexField(field, s string, n int) []byte {
	clean := strings.ReplaceAll(s, " ", "")
	if clean == "" {
		fe.add(field, "required (%d bytes as %d hex characters)", n, 2*n)
		return nil
	}
	b, err := hex.DecodeString(clean)
	if err != nil {
		fe.add(field, "%q is not valid hex", s)
		return nil
	}
	if len(b) != n {
		fe.add(field, "%d bytes, want %d (%d hex characters)", len(b), n, 2*n)
		return nil
	}
	return b
}

// textField checks a fixed-length field of the characters in allowed.
func (fe *fieldErrors) textField(field, s string, n int, allowed string) []byte {
	if len(s) != n {
		fe.add(field, "%q has %d characters, want %d", s, len(s), n)
		return nil
	}
	for _, r := range s {
		if !strings.ContainsRune(allowed, r) {
			fe.add(field, "%q: character %q not allowed", s, r)
			return nil
		}
	}
	return []byte(s)
}

// dateField parses YYYYMMDD into 4 BCD bytes.
func (fe *fieldErrors) dateField(field, s string) ([]byte, time.Time) {
	t, err := time.Parse("20060102", s)
	if err != nil || len(s) != 8 {
		fe.add(field, "%q is not a valid date YYYYMMDD", s)
		return nil, time.Time{}
	}
	b, _ := hex.DecodeString(s) // eight decimal digits: BCD
	return b, t
}

// gbkField encodes UTF-8 text as GBK, right-padded with pad to n bytes.
func (fe *fieldErrors) gbkField(field, s string, n int, pad byte, required bool) []byte {
	if s == "" && required {
		fe.add(field, "required")
		return nil
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7F {
			fe.add(field, "%q contains a control character", s)
			return nil
		}
	}
	enc, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		for _, r := range s { // name the offending character
			if _, err1 := simplifiedchinese.GBK.NewEncoder().String(string(r)); err1 != nil {
				fe.add(field, "%q: character %q (U+%04X) cannot be encoded in GBK", s, r, r)
				return nil
			}
		}
		fe.add(field, "%q cannot be encoded in GBK: %v", s, err)
		return nil
	}
	if len(enc) > n {
		fe.add(field, "%q is %d bytes in GBK, at most %d", s, len(enc), n)
		return nil
	}
	out := bytes.Repeat([]byte{pad}, n)
	copy(out, enc)
	return out
}

// bcdField packs n decimal digits (n even) into BCD.
func (fe *fieldErrors) bcdField(field, s string, n int) []byte {
	if fe.textField(field, s, n, digits) == nil {
		return nil
	}
	b, _ := hex.DecodeString(s)
	return b
}

const (
	digits   = "0123456789"
	upperAN  = digits + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	hexUpper = digits + "ABCDEFabcdef"
)

// compile validates a defaulted profile and converts it to card encodings.
func (p *Profile) compile() (*personalisation, error) {
	fe := &fieldErrors{profile: p.Name}
	out := &personalisation{}
	if strings.TrimSpace(p.Name) == "" {
		fe.add("name", "required")
	}
	out.hist = fe.hexField("atr_historical", p.ATRHistorical, histLen)
	if cl := p.Contactless; cl != nil {
		d := &contactlessData{
			uid:          fe.hexField("contactless.uid", cl.UID, 4),
			appData:      fe.hexField("contactless.app_data", cl.AppData, 4),
			protocolInfo: fe.hexField("contactless.protocol_info", cl.ProtocolInfo, 3),
		}
		if b := fe.hexField("contactless.mbli_cid", cl.MBLICID, 1); b != nil {
			d.mbliCID = b[0]
		}
		out.cl = d
	}

	s := &p.SSSE
	out.cardID = fe.hexField("ssse.card_id", s.CardID, cardIDLen)
	out.category = fe.textField("ssse.category", s.Category, 1, upperAN)
	if v := fe.textField("ssse.version", s.Version, 4, digits+"."); v != nil {
		if v[1] != '.' || v[0] == '.' || v[2] == '.' || v[3] == '.' || v[0] == '0' {
			fe.add("ssse.version", "%q is not a spec version like \"3.00\"", s.Version)
		} else {
			out.version = v
			out.gen3 = v[0] >= '3'
		}
	}
	out.institution = fe.hexField("ssse.institution", s.Institution, institutionLen)
	var pad byte
	switch s.NamePadding {
	case paddingSpace:
		pad = 0x20
	case paddingZero:
		pad = 0x00
	default:
		fe.add("ssse.name_padding", "%q, want %q or %q", s.NamePadding, paddingSpace, paddingZero)
	}
	var issued, expires time.Time
	if s.Blank {
		fe.blankFields(s, out)
	} else {
		issued, expires = fe.holderFields(s, out, pad)
	}
	if b := fe.textField("ssse.pin", s.PIN, 6, digits); b != nil {
		out.pinBC, _ = hex.DecodeString(s.PIN)
	}
	if s.PINTries < 1 || s.PINTries > 15 {
		fe.add("ssse.pin_tries", "%d, want 1..15", s.PINTries)
	}
	out.pinTries = s.PINTries
	out.blocked = s.Blocked
	out.extended = p.ExtendedLength != nil && *p.ExtendedLength
	if s.FingerprintSize < 1 || s.FingerprintSize > maxBinaryEF {
		fe.add("ssse.fingerprint_size", "%d, want 1..%d", s.FingerprintSize, maxBinaryEF)
	}
	out.fingerprintSize = s.FingerprintSize
	switch s.Photo {
	case photoBuiltin:
		out.photo = defaultPhoto
	case photoNone:
	default:
		fe.add("ssse.photo", "%q, want %q or %q", s.Photo, photoBuiltin, photoNone)
	}
	if pub := s.Public; pub != nil {
		out.hukouType = fe.textField("ssse.public.hukou_type", pub.HukouType, 2, digits)
		out.hukouAddress = fe.gbkField("ssse.public.hukou_address", pub.HukouAddress, addressLen, pad, true)
		out.hukouRegion = fe.bcdField("ssse.public.hukou_region", pub.HukouRegion, 6)
		out.residenceAddress = fe.gbkField("ssse.public.residence_address", pub.ResidenceAddress, addressLen, pad, true)
		out.residenceRegion = fe.bcdField("ssse.public.residence_region", pub.ResidenceRegion, 6)
	}
	if pki := p.PKI; pki != nil {
		out.pki = fe.pkiField(pki, out, s.Blank, issued, expires)
	}
	if pb := p.PBOC; pb != nil {
		out.pboc = fe.pbocField(pb)
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// holderFields validates and encodes the fields a counter issuance writes
// (EF05 records 5–7, EF06) of a personalised card; it returns the issue and
// expiry dates.
func (fe *fieldErrors) holderFields(s *SSSEProfile, out *personalisation, pad byte) (issued, expires time.Time) {
	out.issue, issued = fe.dateField("ssse.issue_date", s.IssueDate)
	out.expiry, expires = fe.dateField("ssse.expiry_date", s.ExpiryDate)
	if out.issue != nil && out.expiry != nil && expires.Before(issued) {
		fe.add("ssse.expiry_date", "%s is before issue_date %s", s.ExpiryDate, s.IssueDate)
	}
	out.cardNumber = fe.textField("ssse.card_number", s.CardNumber, cardNumberLen, upperAN)
	if ssn := fe.textField("ssse.ssn", s.SSN, ssnLen, digits+"X"); ssn != nil {
		if bytes.IndexByte(ssn[:ssnLen-1], 'X') >= 0 {
			fe.add("ssse.ssn", "%q: only the last character may be X", s.SSN)
		} else {
			out.ssn = ssn
		}
	}
	out.name = fe.gbkField("ssse.name", s.Name, nameLen, pad, true)
	out.ext = fe.gbkField("ssse.name_ext", s.NameExt, nameExtLen, pad, false)
	if b := fe.textField("ssse.sex", s.Sex, 1, "0129"); b != nil {
		out.sex = b[0]
	}
	if b := fe.textField("ssse.ethnicity", s.Ethnicity, 2, digits); b != nil {
		out.ethnicity = (b[0]-'0')<<4 | (b[1] - '0')
	}
	if b := fe.textField("ssse.birthplace", s.Birthplace, 6, hexUpper); b != nil {
		trimmed := strings.TrimRight(s.Birthplace, "Ff")
		if strings.Trim(trimmed, digits) != "" {
			fe.add("ssse.birthplace", "%q: want a 6-digit region code, optionally padded with trailing F", s.Birthplace)
		} else {
			out.birthplace, _ = hex.DecodeString(s.Birthplace)
		}
	}
	out.birthDate, _ = fe.dateField("ssse.birth_date", s.BirthDate)
	return issued, expires
}

// blankFields gives the fields a counter issuance writes (EF05 records 5–7
// and every EF06 record) their factory state on a blank card (ssse.blank):
// the record's full length of 00 bytes. The profile must leave them empty.
func (fe *fieldErrors) blankFields(s *SSSEProfile, out *personalisation) {
	for _, f := range []struct{ field, value string }{
		{"ssse.issue_date", s.IssueDate}, {"ssse.expiry_date", s.ExpiryDate}, {"ssse.card_number", s.CardNumber},
		{"ssse.ssn", s.SSN}, {"ssse.name", s.Name}, {"ssse.name_ext", s.NameExt}, {"ssse.sex", s.Sex},
		{"ssse.ethnicity", s.Ethnicity}, {"ssse.birthplace", s.Birthplace}, {"ssse.birth_date", s.BirthDate},
	} {
		if f.value != "" {
			fe.add(f.field, "%q: must be empty on a blank card (ssse.blank)", f.value)
		}
	}
	out.issue, out.expiry = make([]byte, dateLen), make([]byte, dateLen)
	out.cardNumber, out.ssn = make([]byte, cardNumberLen), make([]byte, ssnLen)
	out.name, out.ext = make([]byte, nameLen), make([]byte, nameExtLen)
	out.sex, out.ethnicity = 0, 0
	out.birthplace, out.birthDate = make([]byte, birthplaceLen), make([]byte, dateLen)
}

// pkiField validates the PKI section (also when disabled) and, when it is
// enabled and everything else is valid, makes the key pair and the signing
// certificate.
func (fe *fieldErrors) pkiField(pki *PKIProfile, out *personalisation, blank bool, issued, expires time.Time) *pkiData {
	d := &pkiData{pin: pki.PIN, tries: pki.PINTries}
	if fe.textField("pki.pin", pki.PIN, 6, digits) != nil {
		d.pinBCD, _ = hex.DecodeString(pki.PIN)
	}
	if pki.PINTries < 1 || pki.PINTries > 15 {
		fe.add("pki.pin_tries", "%d, want 1..15", pki.PINTries)
	}
	cn := pki.CertCommonName
	if cn == "" {
		cn = strings.TrimRight(p2s(out.name), " \x00")
	}
	if pki.CertCommonName != "" && (strings.TrimSpace(cn) == "" || strings.ContainsFunc(cn, func(r rune) bool { return r < 0x20 || r == 0x7F })) {
		fe.add("pki.cert_common_name", "%q is not a printable name", cn)
	}
	if pki.Enabled && blank && !pki.Blank {
		fe.add("pki.enabled", "a blank card (ssse.blank) has no holder, card number or dates for the signing certificate (use pki.blank: true)")
	}
	if pki.Enabled && pki.Blank && len(fe.errs) == 0 && out.cardID != nil {
		d.blank = true
		d.adminPIN, d.masterKey = simkeys.PKIAdminPIN(out.cardID), simkeys.PKIMasterKey(out.cardID)
		d.pubFile, d.cert = make([]byte, pkiPubSize), make([]byte, pkiCertSize)
		d.encPubFile, d.encCert = make([]byte, pkiPubSize), make([]byte, pkiCertSize)
		return d
	}
	if !pki.Enabled || len(fe.errs) > 0 || out.cardID == nil || out.cardNumber == nil {
		return nil
	}
	d.adminPIN, d.masterKey = simkeys.PKIAdminPIN(out.cardID), simkeys.PKIMasterKey(out.cardID)
	key, err := simkeys.CardSigningKey(out.cardID)
	if err != nil {
		fe.add("pki", "signing key: %v", err)
		return nil
	}
	d.key = key
	if d.pubFile, err = sm.MarshalCardPublicKey(&key.PublicKey); err != nil {
		fe.add("pki", "public key: %v", err)
		return nil
	}
	d.cert, err = simCertificate(out.cardID, key, cn, string(out.cardNumber), issued, expires)
	if err != nil {
		fe.add("pki", "signing certificate: %v", err)
		return nil
	}
	if err := simEncryptionPair(d, out.cardID, cn, string(out.cardNumber), issued, expires); err != nil {
		fe.add("pki", "encryption pair: %v", err)
		return nil
	}
	return d
}

// ParseProfile decodes and validates a profile; format is "json", "yaml" or
// "yml" (a leading dot and upper case are accepted). Unknown fields are
// errors, so that typos do not pass silently.
func ParseProfile(data []byte, format string) (*Profile, error) {
	p := new(Profile)
	switch strings.ToLower(strings.TrimPrefix(format, ".")) {
	case "json":
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, fmt.Errorf("sim: profile: JSON: %w", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, errors.New("sim: profile: JSON: data after the profile object")
		}
	case "yaml", "yml":
		if err := decodeYAML(data, p); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sim: profile: unknown format %q (want json, yaml or yml)", format)
	}
	p = p.withDefaults()
	if _, err := p.compile(); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeYAML(data []byte, p *Profile) (err error) {
	defer func() { // yaml.v3 has panicked on hostile input before
		if r := recover(); r != nil {
			err = fmt.Errorf("sim: profile: YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		if err == io.EOF {
			return errors.New("sim: profile: YAML: empty document")
		}
		return fmt.Errorf("sim: profile: YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return errors.New("sim: profile: YAML: more than one document")
	}
	return nil
}

// LoadProfile reads a profile file; the extension (.json, .yaml, .yml)
// gives the format.
func LoadProfile(path string) (*Profile, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".json", ".yaml", ".yml":
	default:
		return nil, fmt.Errorf("sim: profile %s: unknown extension %q (want .json, .yaml or .yml)", path, ext)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	p, err := ParseProfile(data, ext)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

//go:embed profiles/gen3.yaml profiles/gen2.json profiles/gen3-blank.yaml
var builtinFS embed.FS

// defaultPhoto is the made-up holder photo of EF08 (photo: builtin),
// written by internal/genphoto.
//
//go:generate go run ./internal/genphoto -o profiles/photo.jpg
//go:embed profiles/photo.jpg
var defaultPhoto []byte

var builtinFiles = map[string]string{
	"gen3":       "profiles/gen3.yaml",
	"gen2":       "profiles/gen2.json",
	"gen3-blank": "profiles/gen3-blank.yaml",
}

// BuiltinNames lists the built-in profiles, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtinFiles))
	for n := range builtinFiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Builtin returns a fresh copy of a built-in profile: "gen3" (DefaultProfile),
// "gen2", or "gen3-blank" (the gen3 card before counter issuance: ssse.blank,
// unpersonalised PKI application, PKIProfile.Blank).
func Builtin(name string) (*Profile, error) {
	path, ok := builtinFiles[name]
	if !ok {
		return nil, fmt.Errorf("sim: no built-in profile %q (have %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	data, err := builtinFS.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: built-in profile %q: %w", name, err)
	}
	return ParseProfile(data, filepath.Ext(path))
}
