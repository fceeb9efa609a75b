package audit

import "strings"

// MaskPAN masks a card number, keeping its first 6 and last 4 characters:
// "6217991000001234561" -> "621799*********4561". A number shorter than 13
// keeps only its last 4 characters; one of 4 or fewer is returned as is.
func MaskPAN(pan string) string {
	r := []rune(pan)
	n := len(r)
	switch {
	case n >= 13:
		return string(r[:6]) + strings.Repeat("*", n-10) + string(r[n-4:])
	case n > 4:
		return strings.Repeat("*", n-4) + string(r[n-4:])
	default:
		return pan
	}
}

// minScrubRun is the shortest digit run Scrub masks: PANs are 12-19
// digits, SSNs 18 characters; longer runs are masked too, defensively.
const minScrubRun = 12

// Scrub masks with MaskPAN every run of 12 or more ASCII digits in s, and
// every SSN-like run of 17 digits followed by a check character X or x.
// Runs of fewer digits (PINs, status words, counters) are left alone, so
// Scrub cannot hide a PIN: the log must never be given one.
func Scrub(s string) string {
	var b strings.Builder
	last := 0 // s[last:i] not yet copied
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j-i == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') {
			j++
		}
		if j-i >= minScrubRun {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			b.WriteString(MaskPAN(s[i:j]))
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
