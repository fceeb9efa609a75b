package batch_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/sscard/ssc/sscard"
)

// cardIDOf is the card identification code of the i-th test card: the
// gen3 region and issuer part, a serial of its own.
func cardIDOf(i int) string { return fmt.Sprintf("411600D156000005005A3C9E17B2%04X", 0xD400+i) }

var testNames = []rune("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳")

// testInfo is the i-th holder: a valid SSN (check digit computed), a name
// and card number of its own, for card cardIDOf(i).
func testInfo(i int) *sscard.WriteInfo {
	ssn17 := fmt.Sprintf("11010119851212%03d", 100+i)
	w := &sscard.WriteInfo{IssueDate: "20261201", ExpiryDate: "20361201",
		CardNumber: fmt.Sprintf("B8765%04d", i), SSN: ssn17 + checkDigit(ssn17), Name: "王" + string(testNames[i]),
		Sex: "1", Ethnicity: "01", BirthDate: "19851212"}
	w.CardID, _ = hex.DecodeString(cardIDOf(i))
	w.Institution, _ = hex.DecodeString("411600000000000000000001")
	return w
}

// testLine is testInfo(i) as a ministry string; anyCard leaves the card id
// empty.
func testLine(i int, anyCard bool) string {
	s := testInfo(i).String()
	if anyCard {
		s = s[strings.Index(s, "|"):]
	}
	return s
}

// checkDigit is the ISO 7064 MOD 11-2 check character of GB 11643.
func checkDigit(s17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range s17 {
		sum += int(c-'0') * w[i]
	}
	return string("10X98765432"[sum%11])
}

func batchInput(t *testing.T, n int, anyCard bool) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(testLine(i, anyCard) + "\n")
	}
	return b.String()
}
