package sscard

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/sscard/ssc/apdu"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// FieldSet selects the EF05/EF06 records to read; one bit per record.
type FieldSet uint32

// Fields, one per record (EF05 records 1–7, EF06 records 1–7).
const (
	FieldCardID FieldSet = 1 << iota
	FieldCategory
	FieldVersion
	FieldInstitution
	FieldIssueDate
	FieldExpiryDate
	FieldCardNumber
	FieldSSN
	FieldName
	FieldNameExt
	FieldSex
	FieldEthnicity
	FieldBirthplace
	FieldBirthDate

	// FieldsCardBas is the set of the ministry's iReadCardBas: EF05 tags
	// 01, 03, 05, 06, 07 and EF06 tags 08, 09.
	FieldsCardBas = FieldCardID | FieldVersion | FieldIssueDate | FieldExpiryDate | FieldCardNumber | FieldSSN | FieldName
	// FieldsFree are the fields a 3rd-gen card gives without authentication.
	FieldsFree = FieldCardID | FieldCategory | FieldVersion | FieldInstitution | FieldIssueDate | FieldExpiryDate
	// FieldsAll is every EF05/EF06 field.
	FieldsAll FieldSet = 1<<14 - 1
)

// SFIs of the SSSE record files.
const (
	SFIEF05 = 5
	SFIEF06 = 6
)

// recordDef describes one record: file, record number, tag, value length.
type recordDef struct {
	field     FieldSet
	name      string // JSON field name
	sfi, rec  byte
	tag       byte
	size      int
	protected bool // needs external authentication kid 0A on a 3rd-gen card
	decode    func(b *BasicInfo, v []byte) (string, bool)
}

var records = []recordDef{
	{FieldCardID, "card_id", 5, 1, 0x01, 16, false, decCardID},
	{FieldCategory, "category", 5, 2, 0x02, 1, false, func(b *BasicInfo, v []byte) (string, bool) { return an(&b.Category, v) }},
	{FieldVersion, "version", 5, 3, 0x03, 4, false, decVersion},
	{FieldInstitution, "institution", 5, 4, 0x04, 12, false, func(b *BasicInfo, v []byte) (string, bool) {
		b.Institution = bytes.Clone(v)
		return "", true
	}},
	{FieldIssueDate, "issue_date", 5, 5, 0x05, 4, false, func(b *BasicInfo, v []byte) (string, bool) { return bcdDate(&b.IssueDate, v) }},
	{FieldExpiryDate, "expiry_date", 5, 6, 0x06, 4, false, func(b *BasicInfo, v []byte) (string, bool) { return bcdDate(&b.ExpiryDate, v) }},
	{FieldCardNumber, "card_number", 5, 7, 0x07, 9, true, func(b *BasicInfo, v []byte) (string, bool) { return an(&b.CardNumber, v) }},
	{FieldSSN, "ssn", 6, 1, 0x08, 18, true, func(b *BasicInfo, v []byte) (string, bool) { return an(&b.SSN, v) }},
	{FieldName, "name", 6, 2, 0x09, 30, true, func(b *BasicInfo, v []byte) (string, bool) { return gbk(&b.Name, v) }},
	{FieldNameExt, "name_ext", 6, 3, 0x4E, 20, true, func(b *BasicInfo, v []byte) (string, bool) { return gbk(&b.NameExt, v) }},
	{FieldSex, "sex", 6, 4, 0x0A, 1, true, func(b *BasicInfo, v []byte) (string, bool) {
		if v[0] < '0' || v[0] > '9' {
			return "sex code is not a digit", false
		}
		b.Sex = string(v)
		return "", true
	}},
	{FieldEthnicity, "ethnicity", 6, 5, 0x0B, 1, true, func(b *BasicInfo, v []byte) (string, bool) { return bcd(&b.Ethnicity, v, false) }},
	{FieldBirthplace, "birthplace", 6, 6, 0x0C, 3, true, func(b *BasicInfo, v []byte) (string, bool) { return bcd(&b.Birthplace, v, true) }},
	{FieldBirthDate, "birth_date", 6, 7, 0x0D, 4, true, func(b *BasicInfo, v []byte) (string, bool) { return bcdDate(&b.BirthDate, v) }},
}

// recordLen is the full TLV length of a record, used as Le.
func (d *recordDef) recordLen() int { return 2 + d.size }

func defByTag(sfi, tag byte) *recordDef {
	for i := range records {
		if records[i].sfi == sfi && records[i].tag == tag {
			return &records[i]
		}
	}
	return nil
}

// fieldByName is the field of a record's JSON name (0 if none).
func fieldByName(name string) FieldSet {
	for i := range records {
		if records[i].name == name {
			return records[i].field
		}
	}
	return 0
}

// DecodeRecord decodes one whole SIMPLE-TLV record of EF05 (sfi 5) or EF06
// (sfi 6), as READ RECORD returns it, into info. The tag selects the field;
// the length must be the specified one and the value must be well formed,
// otherwise a *RecordError (ErrMalformedRecord) is returned and info is left
// unchanged.
func DecodeRecord(info *BasicInfo, sfi byte, record []byte) error {
	if len(record) == 0 {
		return &RecordError{Field: "?", Reason: "empty record"}
	}
	d := defByTag(sfi, record[0])
	if d == nil {
		return &RecordError{Field: "?", Tag: record[0], Reason: fmt.Sprintf("unknown tag in SFI %d", sfi)}
	}
	return d.decodeTLV(info, record)
}

func (d *recordDef) decodeTLV(info *BasicInfo, record []byte) error {
	t, rest, err := apdu.ParseSimpleOne(record)
	if err != nil {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: "not a SIMPLE-TLV object", Err: err}
	}
	if t.Tag != d.tag {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: fmt.Sprintf("tag %02X", t.Tag)}
	}
	if len(rest) != 0 {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: fmt.Sprintf("%d bytes after the object", len(rest))}
	}
	if len(t.Value) != d.size {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: fmt.Sprintf("length %d, want %d", len(t.Value), d.size)}
	}
	if blank(t.Value) {
		// Not written yet: a card before counter issuance holds its
		// records with all-00 (or all-FF) values. The field stays empty.
		return nil
	}
	tmp := *info
	if reason, ok := d.decode(&tmp, t.Value); !ok {
		return &RecordError{Field: d.name, Tag: d.tag, Reason: reason}
	}
	*info = tmp
	return nil
}

func decCardID(b *BasicInfo, v []byte) (string, bool) {
	region := hex.EncodeToString(v[:3])
	if !isDigits(region) {
		return "region (first 3 bytes) is not BCD", false
	}
	b.CardID = bytes.Clone(v)
	b.Region = region
	return "", true
}

func decVersion(b *BasicInfo, v []byte) (string, bool) {
	s := string(v)
	if !isDigits(s[:1]) || s[1] != '.' || !isDigits(s[2:]) {
		return fmt.Sprintf("version %q is not d.dd", s), false
	}
	g, ok := generationOf(s)
	if !ok {
		return fmt.Sprintf("unknown spec version %q", s), false
	}
	b.Version, b.Generation = s, g
	return "", true
}

// an decodes an AN field: printable ASCII, trailing 0x20/0x00 trimmed.
func an(dst *string, v []byte) (string, bool) {
	v = trimPad(v)
	for _, c := range v {
		if c < 0x20 || c > 0x7E {
			return fmt.Sprintf("byte %02X is not printable ASCII", c), false
		}
	}
	*dst = string(v)
	return "", true
}

func gbk(dst *string, v []byte) (string, bool) {
	v = trimPad(v)
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(v)
	if err != nil {
		return "not GBK: " + err.Error(), false
	}
	if bytes.ContainsRune(s, '\uFFFD') {
		return "invalid GBK sequence", false
	}
	*dst = string(s)
	return "", true
}

func trimPad(v []byte) []byte { return bytes.TrimRight(v, "\x20\x00") }

// bcd decodes packed BCD digits; with fPad, trailing F nibbles are stripped.
func bcd(dst *string, v []byte, fPad bool) (string, bool) {
	s := strings.ToUpper(hex.EncodeToString(v))
	if fPad {
		s = strings.TrimRight(s, "F")
	}
	if !isDigits(s) {
		return "not BCD", false
	}
	*dst = s
	return "", true
}

func bcdDate(dst *string, v []byte) (string, bool) {
	s := hex.EncodeToString(v)
	if !isDigits(s) {
		return "date is not BCD", false
	}
	if _, err := time.Parse("20060102", s); err != nil {
		return "not a calendar date", false
	}
	*dst = s
	return "", true
}

// blank reports a value that is all 00 or all FF: a record the issuer has
// not written yet.
func blank(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, b := range v {
		if b != v[0] {
			return false
		}
	}
	return v[0] == 0x00 || v[0] == 0xFF
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
