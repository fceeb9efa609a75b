package sscard

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ErrWriteInfo is matched by every error of ParseWriteInfo, Validate and
// Records (a *WriteInfoError).
var ErrWriteInfo = errors.New("sscard: invalid write info")

// ErrWriteMismatch is matched by the error of WriteInfo.Matches (a
// *WriteMismatchError).
var ErrWriteMismatch = errors.New("sscard: card does not hold what was written")

// WriteInfoError is an invalid write-info field. Field is the JSON name of
// the field ("" for the string as a whole, e.g. a wrong field count). Reason
// says what is wrong without the value: write info is holder data, and
// these errors reach API answers, the audit log and the journal.
type WriteInfoError struct {
	Field  string
	Reason string
}

func (e *WriteInfoError) Error() string {
	if e.Field == "" {
		return "sscard: write info: " + e.Reason
	}
	return "sscard: write info: " + e.Field + ": " + e.Reason
}

// Is matches ErrWriteInfo.
func (e *WriteInfoError) Is(target error) bool { return target == ErrWriteInfo }

// WriteMismatchError names the first field whose re-read value differs from
// the value written. Card and Written hold the two values as text (hex for
// binary) for the caller to compare; they are holder data, so Error names
// the field only and never shows them.
type WriteMismatchError struct {
	Field   string
	Card    string
	Written string
}

func (e *WriteMismatchError) Error() string {
	return "sscard: card does not hold what was written: " + e.Field + " differs"
}

// Is matches ErrWriteMismatch.
func (e *WriteMismatchError) Is(target error) bool { return target == ErrWriteMismatch }

// Values of EF05 records 2 and 3 that a 3rd-gen issuance writes (ssc-facts
// §2.4 WriteCard:4).
const (
	WriteCategory = "3"
	WriteVersion  = "3.00"
)

// WriteNamePadding pads the name (EF06/09) and name extension (EF06/4E) to
// their record sizes: 0x20, the default of the software card's
// personalisation (sim profile name_padding "space") and the padding of the
// samples (ssc-facts §9.5). The decoder strips both 0x20 and 0x00.
const WriteNamePadding = 0x20

// WriteInfo is the holder and card data an issuance writes to EF05/EF06,
// parsed from the ministry iWriteCardBas_HSM_Step1 write-info string
// (ssc-facts §2.4) or given as JSON. Call Validate for JSON input;
// ParseWriteInfo validates.
type WriteInfo struct {
	CardID      HexBytes `json:"card_id"`            // 卡识别码, 16 bytes; first 3 bytes = region (BCD)
	Institution HexBytes `json:"institution"`        // 初始化机构编码, 12 bytes (EF05/04)
	IssueDate   string   `json:"issue_date"`         // 发卡日期 YYYYMMDD
	ExpiryDate  string   `json:"expiry_date"`        // 卡有效期 YYYYMMDD
	CardNumber  string   `json:"card_number"`        // 卡号, 9 printable ASCII characters
	SSN         string   `json:"ssn"`                // 社会保障号码, 18 characters (GB 11643)
	Name        string   `json:"name"`               // 姓名, UTF-8; at most 30 bytes in GBK
	NameExt     string   `json:"name_ext,omitempty"` // 姓名拓展, at most 20 bytes in GBK
	Sex         string   `json:"sex"`                // 性别, GB/T 2261.1: 0, 1, 2 or 9
	Ethnicity   string   `json:"ethnicity"`          // 民族, 2 digits (GB/T 3304)
	BirthDate   string   `json:"birth_date"`         // 出生日期 YYYYMMDD
}

// writeInfoFields are the JSON names in the order of the ministry string.
var writeInfoFields = [11]string{"card_id", "institution", "issue_date", "expiry_date", "card_number",
	"ssn", "name", "name_ext", "sex", "ethnicity", "birth_date"}

// FieldsWritable are the fields of the write info: what an issuance (and a
// partial write, BeginUpdate) writes with values of its own. Category and
// version are written with fixed values (WriteCategory, WriteVersion), the
// birthplace never.
const FieldsWritable = FieldCardID | FieldInstitution | FieldIssueDate | FieldExpiryDate | FieldCardNumber |
	FieldSSN | FieldName | FieldNameExt | FieldSex | FieldEthnicity | FieldBirthDate

// writeInfoOf is the write info a card holds (decoded fields, as read).
func writeInfoOf(b *BasicInfo) *WriteInfo {
	return &WriteInfo{CardID: bytes.Clone(b.CardID), Institution: bytes.Clone(b.Institution), IssueDate: b.IssueDate,
		ExpiryDate: b.ExpiryDate, CardNumber: b.CardNumber, SSN: b.SSN, Name: b.Name, NameExt: b.NameExt,
		Sex: b.Sex, Ethnicity: b.Ethnicity, BirthDate: b.BirthDate}
}

// With returns w with the fields named in values (JSON names) replaced,
// parsed and validated as ParseWriteInfo does (hex in any case, a final
// "x" of the SSN): errors wrap ErrWriteInfo and name the field.
func (w *WriteInfo) With(values map[string]string) (*WriteInfo, error) {
	f := strings.Split(strings.TrimSuffix(w.String(), "|"), "|")
	if len(f) != len(writeInfoFields) {
		return nil, wiErr("", "a field contains |")
	}
	for name, v := range values {
		i := slices.Index(writeInfoFields[:], name)
		if i < 0 {
			return nil, wiErr(callerName(name), "not a write-info field")
		}
		if strings.Contains(v, "|") {
			return nil, wiErr(name, "contains |")
		}
		f[i] = v
	}
	return ParseWriteInfo(strings.Join(f, "|") + "|")
}

func wiErr(field, format string, args ...any) error {
	return &WriteInfoError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ParseWriteInfo parses and validates the ministry write-info string
//
//	卡识别码|初始化机构编码|发卡日期|卡有效期|卡号|社会保障号码|姓名|姓名拓展|性别|民族|出生日期|
//
// (11 fields, each followed by "|"). A string that is not valid UTF-8 is
// decoded as GBK. Hex may be lower case and a final "x" of the SSN is
// accepted; both are normalised to upper case. Errors wrap ErrWriteInfo and
// name the field.
func ParseWriteInfo(s string) (*WriteInfo, error) {
	if !utf8.ValidString(s) {
		d, err := simplifiedchinese.GBK.NewDecoder().String(s)
		if err != nil {
			return nil, wiErr("", "neither UTF-8 nor GBK")
		}
		s = d
	}
	if !strings.HasSuffix(s, "|") {
		return nil, wiErr("", `missing trailing "|"`)
	}
	f := strings.Split(strings.TrimSuffix(s, "|"), "|")
	if len(f) != len(writeInfoFields) {
		return nil, wiErr("", "%d fields, want %d", len(f), len(writeInfoFields))
	}
	w := &WriteInfo{IssueDate: f[2], ExpiryDate: f[3], CardNumber: f[4], SSN: f[5],
		Name: f[6], NameExt: f[7], Sex: f[8], Ethnicity: f[9], BirthDate: f[10]}
	var err error
	if w.CardID, err = wiHex("card_id", f[0], 16); err != nil {
		return nil, err
	}
	if w.Institution, err = wiHex("institution", f[1], 12); err != nil {
		return nil, err
	}
	if len(w.SSN) == 18 && w.SSN[17] == 'x' {
		w.SSN = w.SSN[:17] + "X"
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return w, nil
}

func wiHex(field, s string, n int) (HexBytes, error) {
	if len(s) != 2*n {
		return nil, wiErr(field, "%d hex digits, want %d", len(s), 2*n)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, wiErr(field, "not hex")
	}
	return b, nil
}

// String formats the ministry write-info string (uppercase hex, every field
// followed by "|"); ParseWriteInfo(w.String()) gives w back.
func (w *WriteInfo) String() string {
	return strings.Join([]string{upperHex(w.CardID), upperHex(w.Institution), w.IssueDate, w.ExpiryDate,
		w.CardNumber, w.SSN, w.Name, w.NameExt, w.Sex, w.Ethnicity, w.BirthDate}, "|") + "|"
}

// Validate checks every field: hex lengths, the card ID region (6 BCD
// digits), calendar dates, expiry after issue, birth not after issue, the
// card number (9 printable ASCII characters), the SSN (17 digits and a
// digit or X, ISO 7064 MOD 11-2 check digit, embedded birth date equal to
// BirthDate), the name (non-empty, at most 30 bytes in GBK) and name
// extension (at most 20 bytes), the sex code (0, 1, 2, 9) and the
// ethnicity (2 digits). No text field may contain "|", control characters
// or trailing/leading spaces (the card pads with spaces). The first error is
// returned; it wraps ErrWriteInfo and names the field.
func (w *WriteInfo) Validate() error {
	if w == nil {
		return wiErr("", "missing")
	}
	if len(w.CardID) != 16 {
		return wiErr("card_id", "%d bytes, want 16", len(w.CardID))
	}
	if !isDigits(hex.EncodeToString(w.CardID[:3])) {
		return wiErr("card_id", "region (first 3 bytes) is not 6 BCD digits")
	}
	if len(w.Institution) != 12 {
		return wiErr("institution", "%d bytes, want 12", len(w.Institution))
	}
	issue, err := wiDate("issue_date", w.IssueDate)
	if err != nil {
		return err
	}
	expiry, err := wiDate("expiry_date", w.ExpiryDate)
	if err != nil {
		return err
	}
	if !expiry.After(issue) {
		return wiErr("expiry_date", "not after issue_date")
	}
	if len(w.CardNumber) != 9 {
		return wiErr("card_number", "%d characters, want 9", utf8.RuneCountInString(w.CardNumber))
	}
	for i := 0; i < len(w.CardNumber); i++ {
		if c := w.CardNumber[i]; c <= 0x20 || c >= 0x7F || c == '|' {
			return wiErr("card_number", "character %d is not printable ASCII", i+1)
		}
	}
	birth, err := wiDate("birth_date", w.BirthDate)
	if err != nil {
		return err
	}
	if birth.After(issue) {
		return wiErr("birth_date", "after issue_date")
	}
	if err := w.validateSSN(); err != nil {
		return err
	}
	if w.Name == "" {
		return wiErr("name", "empty")
	}
	if err := wiGBK("name", w.Name, 30); err != nil {
		return err
	}
	if err := wiGBK("name_ext", w.NameExt, 20); err != nil {
		return err
	}
	switch w.Sex {
	case "0", "1", "2", "9":
	default:
		return wiErr("sex", "want 0, 1, 2 or 9 (GB/T 2261.1)")
	}
	// GB/T 3304: 01–56, 97 (other), 98 (foreign origin). 00 is also what
	// an unwritten record reads as (blank), so it could not be read back.
	if n, err := strconv.Atoi(w.Ethnicity); len(w.Ethnicity) != 2 || !isDigits(w.Ethnicity) || err != nil ||
		(n < 1 || n > 56) && n != 97 && n != 98 {
		return wiErr("ethnicity", "want 2 digits of a GB/T 3304 code: 01–56, 97 or 98")
	}
	return nil
}

func wiDate(field, s string) (time.Time, error) {
	if len(s) != 8 || !isDigits(s) {
		return time.Time{}, wiErr(field, "want YYYYMMDD")
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, wiErr(field, "not a calendar date")
	}
	return t, nil
}

// ssnWeights are the ISO 7064 MOD 11-2 weights 2^(17-i) mod 11.
var ssnWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// ssnCheckDigit returns the GB 11643 (ISO 7064 MOD 11-2) check character of
// the first 17 digits of an SSN, or 0 when they are not 17 digits.
func ssnCheckDigit(first17 string) byte {
	if len(first17) < 17 || !isDigits(first17[:17]) {
		return 0
	}
	sum := 0
	for i, wt := range ssnWeights {
		sum += int(first17[i]-'0') * wt
	}
	return "10X98765432"[sum%11]
}

func (w *WriteInfo) validateSSN() error {
	s := w.SSN
	if len(s) != 18 {
		return wiErr("ssn", "%d characters, want 18", utf8.RuneCountInString(s))
	}
	if !isDigits(s[:17]) {
		return wiErr("ssn", "the first 17 characters are not all digits")
	}
	if c := s[17]; !(c >= '0' && c <= '9' || c == 'X') {
		return wiErr("ssn", "last character is not a digit or X")
	}
	if s[17] != ssnCheckDigit(s) {
		return wiErr("ssn", "wrong check digit (GB 11643)")
	}
	if s[6:14] != w.BirthDate {
		return wiErr("ssn", "embedded birth date differs from birth_date")
	}
	return nil
}

// encodeGBK encodes s as GBK, reporting the position (never the character:
// s is a name) of a rune that GBK lacks.
func encodeGBK(s string) ([]byte, error) {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		n := 0
		for _, r := range s {
			n++
			if _, err1 := simplifiedchinese.GBK.NewEncoder().String(string(r)); err1 != nil {
				return nil, fmt.Errorf("character %d is not in GBK", n)
			}
		}
		return nil, fmt.Errorf("not encodable in GBK")
	}
	return b, nil
}

func wiGBK(field, s string, max int) error {
	if !utf8.ValidString(s) {
		return wiErr(field, "not valid UTF-8")
	}
	n := 0
	for _, r := range s {
		n++
		if unicode.IsControl(r) || r == '|' || r == utf8.RuneError {
			return wiErr(field, "character %d is a control character or |", n)
		}
	}
	if strings.TrimSpace(s) != s {
		return wiErr(field, "leading or trailing space")
	}
	b, err := encodeGBK(s)
	if err != nil {
		return wiErr(field, "%v", err)
	}
	if len(b) > max {
		return wiErr(field, "%d bytes in GBK, at most %d", len(b), max)
	}
	// The card stores GBK: the value must read back unchanged.
	if d, err := simplifiedchinese.GBK.NewDecoder().Bytes(b); err != nil || string(d) != s {
		return wiErr(field, "does not survive GBK encoding")
	}
	return nil
}

// WriteRecord is one UPDATE RECORD of an issuance: the whole SIMPLE-TLV
// record (tag||len||value), as READ RECORD returns it afterwards.
type WriteRecord struct {
	File   uint16 // 0xEF05 or 0xEF06
	SFI    byte   // 5 or 6
	Number byte   // record number
	Field  string // JSON name of the field, e.g. "ssn"
	Data   []byte // tag||len||value
}

// Records validates w and encodes the records an issuance writes
// (ssc-facts §1.4–1.5, §2.4 WriteCard:3/4): EF06 records 1 (08 SSN), 2 (09
// name, GBK padded with WriteNamePadding to 30), 3 (4E name extension, 20),
// 4 (0A sex), 5 (0B ethnicity, BCD), 7 (0D birth date, BCD) — record 6
// (birthplace) is not part of the write info — then EF05 records 1 (01 card
// ID), 2 (02 category "3"), 3 (03 version "3.00"), 4 (04 institution), 5
// (05 issue date), 6 (06 expiry date), 7 (07 card number). Tags and sizes
// are those DecodeRecord checks.
func (w *WriteInfo) Records() ([]WriteRecord, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	var out []WriteRecord
	for _, sfi := range []byte{SFIEF06, SFIEF05} {
		for i := range records {
			d := &records[i]
			if d.sfi != sfi || d.field == FieldBirthplace {
				continue
			}
			v, err := w.value(d)
			if err != nil {
				return nil, err
			}
			if len(v) != d.size {
				return nil, wiErr(d.name, "encodes to %d bytes, want %d", len(v), d.size)
			}
			data := append([]byte{d.tag, byte(d.size)}, v...)
			out = append(out, WriteRecord{File: 0xEF00 | uint16(sfi), SFI: sfi, Number: d.rec, Field: d.name, Data: data})
		}
	}
	return out, nil
}

// value encodes the value of record d (without tag and length).
func (w *WriteInfo) value(d *recordDef) ([]byte, error) {
	bcdOf := func(s string) []byte { b, _ := hex.DecodeString(s); return b } // validated digits
	switch d.field {
	case FieldCardID:
		return bytes.Clone(w.CardID), nil
	case FieldCategory:
		return []byte(WriteCategory), nil
	case FieldVersion:
		return []byte(WriteVersion), nil
	case FieldInstitution:
		return bytes.Clone(w.Institution), nil
	case FieldIssueDate:
		return bcdOf(w.IssueDate), nil
	case FieldExpiryDate:
		return bcdOf(w.ExpiryDate), nil
	case FieldCardNumber:
		return []byte(w.CardNumber), nil
	case FieldSSN:
		return []byte(w.SSN), nil
	case FieldName, FieldNameExt:
		s := w.Name
		if d.field == FieldNameExt {
			s = w.NameExt
		}
		b, err := encodeGBK(s)
		if err != nil {
			return nil, wiErr(d.name, "%v", err)
		}
		if len(b) > d.size {
			return nil, wiErr(d.name, "%d bytes in GBK, at most %d", len(b), d.size)
		}
		return append(b, bytes.Repeat([]byte{WriteNamePadding}, d.size-len(b))...), nil
	case FieldSex:
		return []byte(w.Sex), nil
	case FieldEthnicity:
		return bcdOf(w.Ethnicity), nil
	case FieldBirthDate:
		return bcdOf(w.BirthDate), nil
	}
	return nil, wiErr(d.name, "not part of the write info")
}

// Matches compares every written field (including category "3" and version
// "3.00") with info, as re-read from the card after the issuance (decoded
// by this package: padding trimmed, GBK decoded). It returns nil or an error
// wrapping ErrWriteMismatch (a *WriteMismatchError) naming the first field
// that differs, in the order of Records.
func (w *WriteInfo) Matches(info *BasicInfo) error { return w.matches(info, FieldsAll) }

// matches is Matches for the fields of only.
func (w *WriteInfo) matches(info *BasicInfo, only FieldSet) error {
	if info == nil {
		return &WriteMismatchError{Field: "card", Card: "nothing read", Written: "write info"}
	}
	cmp := []struct{ field, card, wrote string }{
		{"ssn", info.SSN, w.SSN},
		{"name", info.Name, w.Name},
		{"name_ext", info.NameExt, w.NameExt},
		{"sex", info.Sex, w.Sex},
		{"ethnicity", info.Ethnicity, w.Ethnicity},
		{"birth_date", info.BirthDate, w.BirthDate},
		{"card_id", upperHex(info.CardID), upperHex(w.CardID)},
		{"category", info.Category, WriteCategory},
		{"version", info.Version, WriteVersion},
		{"institution", upperHex(info.Institution), upperHex(w.Institution)},
		{"issue_date", info.IssueDate, w.IssueDate},
		{"expiry_date", info.ExpiryDate, w.ExpiryDate},
		{"card_number", info.CardNumber, w.CardNumber},
	}
	for _, c := range cmp {
		if only&fieldByName(c.field) != 0 && c.card != c.wrote {
			return &WriteMismatchError{Field: c.field, Card: c.card, Written: c.wrote}
		}
	}
	return nil
}

// WriteFields is the set of the write-info fields named (JSON names, as
// in WriteInfo.With), for BeginUpdate; an unknown name or one that is not
// a write-info field is an error wrapping ErrWriteInfo that names it.
func WriteFields(names []string) (FieldSet, error) {
	var fs FieldSet
	for _, n := range names {
		f := fieldByName(n)
		if f == 0 || f&^FieldsWritable != 0 {
			return 0, wiErr(callerName(n), "not a write-info field")
		}
		fs |= f
	}
	if fs == 0 {
		return 0, wiErr("", "no field to write")
	}
	return fs, nil
}

// callerName is a field name a caller gave, for an error: not echoed at
// length or when it is not text.
func callerName(n string) string {
	if len(n) > 32 || !utf8.ValidString(n) {
		return "(a long or invalid name)"
	}
	return n
}
