package pboc

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sscard/ssc/apdu"
)

// Node is one object of a described TLV tree (JSON output of `sscctl tlv`).
type Node struct {
	Tag    string        `json:"tag"`
	Name   string        `json:"name"`
	Length int           `json:"length"`
	Value  apdu.HexBytes `json:"value,omitempty"` // primitive objects only
	// Text is the decoded value where the format allows (digits of n/cn,
	// an/ans text, GBK text, DOL and AFL listings, dates).
	Text     string `json:"text,omitempty"`
	Children []Node `json:"children,omitempty"`
}

// Describe names and decodes every object of a TLV tree.
func Describe(list []apdu.TLV) []Node { return describe(list, 0) }

func describe(list []apdu.TLV, codeTable int) []Node {
	if len(list) == 0 {
		return nil
	}
	codeTable = codeTableOf(list, codeTable)
	out := make([]Node, 0, len(list))
	for _, t := range list {
		nd := Node{Tag: t.Tag.String(), Name: TagName(t.Tag), Length: len(t.Value)}
		if t.Tag.Constructed() && (len(t.Children) > 0 || len(t.Value) == 0) {
			nd.Children = describe(t.Children, codeTable)
		} else {
			nd.Value = t.Value
			nd.Text, _ = valueText(t.Tag, t.Value, codeTable)
		}
		out = append(out, nd)
	}
	return out
}

// FormatTLV writes an indented listing of a TLV tree, one object per line:
// tag, name, length, hex value and decoded text.
func FormatTLV(w io.Writer, list []apdu.TLV) error {
	var b strings.Builder
	formatList(&b, list, 0, 0)
	_, err := io.WriteString(w, b.String())
	return err
}

func formatList(b *strings.Builder, list []apdu.TLV, depth, codeTable int) {
	codeTable = codeTableOf(list, codeTable)
	for _, t := range list {
		fmt.Fprintf(b, "%s%s %s [%d]", strings.Repeat("  ", depth), t.Tag, TagName(t.Tag), len(t.Value))
		if t.Tag.Constructed() && (len(t.Children) > 0 || len(t.Value) == 0) {
			b.WriteByte('\n')
			formatList(b, t.Children, depth+1, codeTable)
			continue
		}
		fmt.Fprintf(b, ": %X", t.Value)
		if text, quoted := valueText(t.Tag, t.Value, codeTable); text != "" {
			if quoted {
				text = strconv.Quote(text)
			}
			b.WriteString(" = " + text)
		}
		b.WriteByte('\n')
	}
}

// codeTableOf is the issuer code table a 9F11 among list sets for 9F12
// in the same template, else the one inherited from the enclosing one.
func codeTableOf(list []apdu.TLV, inherited int) int {
	if v, ok := objValue(list, 0x9F11); ok && len(v) == 1 {
		if c, ok := bcdByte(v[0]); ok {
			return c
		}
	}
	return inherited
}

// amountTags are n12 amounts in minor units, shown with two decimals
// (CNY; the listing has no currency exponent at hand).
var amountTags = map[apdu.Tag]bool{
	0x9F02: true, 0x9F03: true, 0x9F54: true, 0x9F5C: true, 0x9F5D: true, 0x9F6B: true,
	0x9F6D: true, 0x9F75: true, 0x9F77: true, 0x9F78: true, 0x9F79: true, 0x9F7B: true,
}

// valueText decodes a primitive value for display; quoted says the text
// is a string from the card (shown in quotes so spaces stay visible). It
// returns "" when the value does not decode: the hex is shown anyway.
func valueText(tag apdu.Tag, v []byte, codeTable int) (text string, quoted bool) {
	switch tag {
	case 0x57:
		if t, err := ParseTrack2(v); err == nil {
			s := fmt.Sprintf("PAN %s, expiry %s, service code %s", t.PAN, t.Expiry, t.ServiceCode)
			if t.Discretionary != "" {
				s += ", discretionary " + t.Discretionary
			}
			return s, false
		}
		return "", false
	case 0x5F24, 0x5F25:
		if d, err := emvDate(v); err == nil {
			return d, false
		}
	case 0x9A:
		if d, ok := bcdDigits(v); ok && len(v) == 3 {
			return "20" + d[0:2] + "-" + d[2:4] + "-" + d[4:6], false
		}
	case 0x9F21:
		if d, ok := bcdDigits(v); ok && len(v) == 3 {
			return d[0:2] + ":" + d[2:4] + ":" + d[4:6], false
		}
	case 0x4F, 0x84, 0x9D, 0x9F06:
		if name := AIDName(v); name != "" {
			return name, false
		}
		// PSE and PPSE names are ASCII.
		if s, err := decodeASCII("name", v); err == nil && len(v) > 0 {
			return s, true
		}
		return "", false
	case 0x82:
		if len(v) == 2 {
			return aipText(AIP{v[0], v[1]}), false
		}
	case 0x87:
		if len(v) == 1 {
			p := Priority(v[0])
			s := "priority " + strconv.Itoa(p.Rank())
			if p.NeedsConfirmation() {
				s += ", cardholder confirmation required"
			}
			return s, false
		}
	case 0x88:
		if len(v) == 1 {
			return "SFI " + strconv.Itoa(int(v[0])), false
		}
	case 0x9F4D, 0xDF4D:
		if len(v) == 2 {
			return fmt.Sprintf("SFI %d, %d records", v[0], v[1]), false
		}
	case 0x9F11:
		if len(v) == 1 {
			if c, ok := bcdByte(v[0]); ok && c >= 1 && c <= len(isoTables) {
				return "ISO 8859-" + strconv.Itoa(c), false
			}
		}
	case 0x9F36, 0x9F13, 0x9F17:
		if len(v) >= 1 && len(v) <= 2 {
			x := 0
			for _, c := range v {
				x = x<<8 | int(c)
			}
			return strconv.Itoa(x), false
		}
	case 0x9F63:
		if len(v) >= 9 {
			return strings.Join(ProductFlags(v[8]), ", "), false
		}
	case 0x80:
		// Most often a GPO answer in format 1 (AIP || AFL); shown so only
		// when it parses as one.
		if len(v) > 2 && (len(v)-2)%4 == 0 {
			if a, err := ParseAFL(v[2:]); err == nil {
				return fmt.Sprintf("AIP %X (%s); AFL %s", v[:2], aipText(AIP{v[0], v[1]}), aflText(a)), false
			}
		}
	case 0xDF69, 0x9F7A:
		if len(v) == 1 && v[0] <= 1 {
			return [2]string{"not supported", "supported"}[v[0]], false
		}
	case 0x9F4A:
		if tags, ok := tagSequence(v); ok {
			return tags, false
		}
	case 0x9F4E:
		if s, err := decodeMerchant(v); err == nil {
			return s, true
		}
		return "", false
	}
	if amountTags[tag] {
		if a, ok := bcdUint(v); ok {
			return fmt.Sprintf("%d.%02d", a/100, a%100), false
		}
	}
	switch formatOf(tag) {
	case FormatNumeric:
		d, _ := bcdDigits(v)
		return d, false
	case FormatCompressedNumeric:
		d, _ := cnDigits(v)
		return d, false
	case FormatAlphanumeric:
		s, _ := decodeASCII("text", v)
		return s, true
	case FormatText:
		s, _ := DecodeText(v, codeTable)
		return s, true
	case FormatDOL:
		if d, err := ParseDOL(v); err == nil {
			return d.String(), false
		}
	case FormatAFL:
		if a, err := ParseAFL(v); err == nil {
			return aflText(a), false
		}
	}
	return "", false
}

func aipText(a AIP) string {
	var s []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{a.SDA(), "SDA"}, {a.DDA(), "DDA"}, {a.CVM(), "cardholder verification"},
		{a.TRM(), "terminal risk management"}, {a.IssuerAuth(), "issuer authentication"}, {a.CDA(), "CDA"},
	} {
		if f.on {
			s = append(s, f.name)
		}
	}
	return strings.Join(s, ", ")
}

// tagSequence lists the tags of a tag list (9F4A) as "82 9F36".
func tagSequence(v []byte) (string, bool) {
	var s []string
	for i := 0; i < len(v); {
		t, n, err := readTag(v[i:])
		if err != nil {
			return "", false
		}
		s = append(s, t.String())
		i += n
	}
	return strings.Join(s, " "), len(s) > 0
}
