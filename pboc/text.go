package pboc

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// isoTables are the code tables 9F11 can name (EMV Book 4 §11.1: index n
// is ISO/IEC 8859-n).
var isoTables = [10]*charmap.Charmap{
	charmap.ISO8859_1, charmap.ISO8859_2, charmap.ISO8859_3, charmap.ISO8859_4, charmap.ISO8859_5,
	charmap.ISO8859_6, charmap.ISO8859_7, charmap.ISO8859_8, charmap.ISO8859_9, charmap.ISO8859_10,
}

// DecodeText decodes an application label/preferred name: with an issuer
// code table index 1..10 (9F11) as ISO 8859-n, otherwise UTF-8 when
// valid, else GBK. Control characters are rejected (ErrMalformed).
func DecodeText(b []byte, codeTable int) (string, error) {
	var s string
	switch {
	case codeTable >= 1 && codeTable <= len(isoTables):
		d, err := isoTables[codeTable-1].NewDecoder().Bytes(b)
		if err != nil {
			return "", malformed("text", "ISO 8859-%d: %v", codeTable, err)
		}
		s = string(d)
	case utf8.Valid(b):
		s = string(b)
	default:
		// Chinese cards write labels, preferred names and merchant names
		// in GBK without saying so.
		return decodeGBK(b)
	}
	return checkText(b, s)
}

// decodeGBK decodes GBK text (ASCII included), rejecting control
// characters and undecodable bytes.
func decodeGBK(b []byte) (string, error) {
	d, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return "", malformed("text", "GBK: %v", err)
	}
	return checkText(b, string(d))
}

func checkText(b []byte, s string) (string, error) {
	for i, r := range s {
		// The decoders map bytes they cannot decode to U+FFFD.
		if r == utf8.RuneError || unicode.IsControl(r) {
			return "", malformed("text", "%X: undecodable or control character at %d", b, i)
		}
	}
	return s, nil
}

// decodeASCII decodes an/ans data, which EMV restricts to printable ASCII.
func decodeASCII(what string, b []byte) (string, error) {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return "", malformed(what, "%X is not printable ASCII", b)
		}
	}
	return string(b), nil
}
