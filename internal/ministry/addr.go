package ministry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sscard/ssc/sscard"
)

// The iReadCard address (pFileAddr). SIM choice: the ministry's syntax is
// not public (ssc-facts §1.6, §8 item 6), so libsscard takes the
// application, then each file followed by its data-item numbers (the
// record tags, two uppercase hex digits), every element followed by "|":
//
//	SSSE|EF05|01|07|EF06|08|09|
//
// Files and items are those of the SSSE basic records (EF05 tags 01–07,
// EF06 tags 08, 09, 4E, 0A–0D); an item may appear once; at most
// MaxAddress bytes. The answer lists the values in the order asked, each
// followed by "|".

// MaxAddress is the longest pFileAddr accepted.
const MaxAddress = 256

// ErrAddressSyntax is matched by every address error.
var ErrAddressSyntax = errors.New("ministry: malformed file address")

// item is one data item of an SSSE file.
type item struct {
	file  string // "EF05", "EF06"
	tag   string // "01".."0D", "4E"
	field sscard.FieldSet
	// wname is the sscard.WriteInfo (JSON) field iWriteCard writes; ""
	// for the items an issuance does not write with a value of its own.
	wname string
	value func(*sscard.BasicInfo) string
}

var items = []item{
	{"EF05", "01", sscard.FieldCardID, "card_id", func(b *sscard.BasicInfo) string { return upper(b.CardID) }},
	{"EF05", "02", sscard.FieldCategory, "", func(b *sscard.BasicInfo) string { return b.Category }},
	{"EF05", "03", sscard.FieldVersion, "", func(b *sscard.BasicInfo) string { return b.Version }},
	{"EF05", "04", sscard.FieldInstitution, "institution", func(b *sscard.BasicInfo) string { return upper(b.Institution) }},
	{"EF05", "05", sscard.FieldIssueDate, "issue_date", func(b *sscard.BasicInfo) string { return b.IssueDate }},
	{"EF05", "06", sscard.FieldExpiryDate, "expiry_date", func(b *sscard.BasicInfo) string { return b.ExpiryDate }},
	{"EF05", "07", sscard.FieldCardNumber, "card_number", func(b *sscard.BasicInfo) string { return b.CardNumber }},
	{"EF06", "08", sscard.FieldSSN, "ssn", func(b *sscard.BasicInfo) string { return b.SSN }},
	{"EF06", "09", sscard.FieldName, "name", func(b *sscard.BasicInfo) string { return b.Name }},
	{"EF06", "4E", sscard.FieldNameExt, "name_ext", func(b *sscard.BasicInfo) string { return b.NameExt }},
	{"EF06", "0A", sscard.FieldSex, "sex", func(b *sscard.BasicInfo) string { return b.Sex }},
	{"EF06", "0B", sscard.FieldEthnicity, "ethnicity", func(b *sscard.BasicInfo) string { return b.Ethnicity }},
	{"EF06", "0C", sscard.FieldBirthplace, "", func(b *sscard.BasicInfo) string { return b.Birthplace }},
	{"EF06", "0D", sscard.FieldBirthDate, "birth_date", func(b *sscard.BasicInfo) string { return b.BirthDate }},
}

func upper(b []byte) string { return fmt.Sprintf("%X", b) }

// Address is a parsed pFileAddr: the items in the order asked.
type Address struct {
	items []*item
}

// Fields is the set of records the address reads.
func (a Address) Fields() sscard.FieldSet {
	var f sscard.FieldSet
	for _, it := range a.items {
		f |= it.field
	}
	return f
}

// Format gives the values of the address's items from info: each followed
// by "|".
func (a Address) Format(info *sscard.BasicInfo) string {
	var sb strings.Builder
	for _, it := range a.items {
		sb.WriteString(it.value(info))
		sb.WriteByte('|')
	}
	return sb.String()
}

// ParseAddress parses a pFileAddr strictly (see the package comment above).
func ParseAddress(s string) (Address, error) {
	bad := func(reason string) (Address, error) {
		return Address{}, fmt.Errorf("%w: %s", ErrAddressSyntax, reason)
	}
	if len(s) > MaxAddress {
		return bad(fmt.Sprintf("longer than %d bytes", MaxAddress))
	}
	if !strings.HasSuffix(s, "|") {
		return bad(`missing trailing "|"`)
	}
	parts := strings.Split(strings.TrimSuffix(s, "|"), "|")
	if parts[0] != "SSSE" {
		return bad("the application must be SSSE")
	}
	parts = parts[1:]
	var a Address
	file := ""
	seen := map[*item]bool{}
	itemsInFile := 0
	for i, p := range parts {
		if p == "EF05" || p == "EF06" {
			if file != "" && itemsInFile == 0 {
				return bad("file " + file + " without data items")
			}
			file, itemsInFile = p, 0
			continue
		}
		if file == "" {
			return bad(fmt.Sprintf("element %d: want a file (EF05 or EF06)", i+2))
		}
		it := lookupItem(file, p)
		if it == nil {
			return bad(fmt.Sprintf("element %d: not a data item of %s", i+2, file))
		}
		if seen[it] {
			return bad(fmt.Sprintf("element %d: data item repeated", i+2))
		}
		seen[it] = true
		a.items = append(a.items, it)
		itemsInFile++
	}
	if file == "" || itemsInFile == 0 {
		return bad("no data items")
	}
	return a, nil
}

func lookupItem(file, tag string) *item {
	for i := range items {
		if items[i].file == file && items[i].tag == tag {
			return &items[i]
		}
	}
	return nil
}

// writeNames are the write-info names of the address's items, for the
// daemon's update session.
func (a Address) writeNames() []string {
	names := make([]string, 0, len(a.items))
	for _, it := range a.items {
		names = append(names, it.wname)
	}
	return names
}
