package pboc

import "strings"

// Known UnionPay (RID A000000333) application identifiers and the
// directory names. The exported forms are functions returning a new slice
// on each call, so that no caller can change them for the whole process.
const (
	ridUnionPay    = "\xA0\x00\x00\x03\x33"
	aidDebit       = ridUnionPay + "\x01\x01\x01"
	aidCredit      = ridUnionPay + "\x01\x01\x02"
	aidQuasiCredit = ridUnionPay + "\x01\x01\x03"
	aidECash       = ridUnionPay + "\x01\x01\x06"
	aidUnionPayUS  = ridUnionPay + "\x01\x01\x08"
	pseName        = "1PAY.SYS.DDF01"
	ppseName       = "2PAY.SYS.DDF01"
)

// AIDDebit returns the UnionPay debit AID A000000333010101.
func AIDDebit() []byte { return []byte(aidDebit) }

// AIDCredit returns the UnionPay credit AID A000000333010102.
func AIDCredit() []byte { return []byte(aidCredit) }

// AIDQuasiCredit returns the UnionPay quasi-credit AID A000000333010103.
func AIDQuasiCredit() []byte { return []byte(aidQuasiCredit) }

// AIDECash returns the UnionPay e-cash AID A000000333010106.
func AIDECash() []byte { return []byte(aidECash) }

// AIDUnionPayUS returns the UnionPay US common debit AID A000000333010108.
func AIDUnionPayUS() []byte { return []byte(aidUnionPayUS) }

// RIDUnionPay returns the UnionPay RID A000000333.
func RIDUnionPay() []byte { return []byte(ridUnionPay) }

// PSEName returns the DF name of the contact payment system environment,
// "1PAY.SYS.DDF01".
func PSEName() []byte { return []byte(pseName) }

// PPSEName returns the DF name of the proximity payment system
// environment, "2PAY.SYS.DDF01".
func PPSEName() []byte { return []byte(ppseName) }

// Payment scheme AIDs (RID + PIX) of the default terminal list beside
// UnionPay's: the international schemes bank counters in China also
// accept.
const (
	aidVisa       = "\xA0\x00\x00\x00\x03\x10\x10"
	aidMastercard = "\xA0\x00\x00\x00\x04\x10\x10"
	aidJCB        = "\xA0\x00\x00\x00\x65\x10\x10"
	aidAmex       = "\xA0\x00\x00\x00\x25\x01"
	aidDiscover   = "\xA0\x00\x00\x01\x52\x30\x10"
)

// TerminalAID is one entry of the terminal's AID list (EMV Book 1 §12.3:
// the terminal's list of supported applications, each with its
// Application Selection Indicator).
type TerminalAID struct {
	AID []byte
	// Partial allows card AIDs that extend AID (ASI "partial match
	// allowed"): a directory entry matches when it begins with AID, and
	// the list of AIDs method finds them with SELECT next occurrence.
	// Without it only an exactly equal AID matches.
	Partial bool
	// Name is the terminal's name for the application (for messages and
	// listings; "" = AIDName).
	Name string
}

// DefaultAIDs is the list a bank-counter terminal in China uses, in the
// terminal's order: UnionPay debit, credit, quasi-credit (partial match,
// so issuer extensions of these AIDs are accepted), e-cash (exact: the
// e-cash application is not extended), UnionPay US common debit, then the
// international schemes with partial match — Visa, Mastercard, JCB,
// American Express and Discover/Diners Club International. Load another
// list with LoadAIDList (docs/pboc.md).
func DefaultAIDs() []TerminalAID {
	// Fresh slices: callers may modify the list they get.
	return []TerminalAID{
		{AID: AIDDebit(), Partial: true, Name: "UnionPay Debit"},
		{AID: AIDCredit(), Partial: true, Name: "UnionPay Credit"},
		{AID: AIDQuasiCredit(), Partial: true, Name: "UnionPay Quasi-credit"},
		{AID: AIDECash(), Name: "UnionPay e-Cash"},
		{AID: AIDUnionPayUS(), Partial: true, Name: "UnionPay US Common Debit"},
		{AID: []byte(aidVisa), Partial: true, Name: "Visa"},
		{AID: []byte(aidMastercard), Partial: true, Name: "Mastercard"},
		{AID: []byte(aidJCB), Partial: true, Name: "JCB"},
		{AID: []byte(aidAmex), Partial: true, Name: "American Express"},
		{AID: []byte(aidDiscover), Partial: true, Name: "Discover / Diners Club"},
	}
}

// AIDName returns the name of a known AID ("UnionPay Debit", "UnionPay
// Credit", "UnionPay Quasi-credit", "UnionPay e-Cash", "UnionPay US
// Common Debit", "Visa", "Mastercard", "JCB", "American Express",
// "Discover / Diners Club"), or "".
//
// An AID that extends a known one (a PIX extension) gets its name too.
func AIDName(aid []byte) string {
	for _, k := range knownAIDs {
		if strings.HasPrefix(string(aid), k.aid) {
			return k.name
		}
	}
	return ""
}

var knownAIDs = []struct {
	aid  string
	name string
}{
	{aidDebit, "UnionPay Debit"},
	{aidCredit, "UnionPay Credit"},
	{aidQuasiCredit, "UnionPay Quasi-credit"},
	{aidECash, "UnionPay e-Cash"},
	{aidUnionPayUS, "UnionPay US Common Debit"},
	{aidVisa, "Visa"},
	{aidMastercard, "Mastercard"},
	{aidJCB, "JCB"},
	{aidAmex, "American Express"},
	{aidDiscover, "Discover / Diners Club"},
}
