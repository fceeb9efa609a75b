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

// TerminalAID is one entry of the terminal's AID list.
type TerminalAID struct {
	AID []byte
	// Partial allows card AIDs that extend AID (ASI "partial match"),
	// found with SELECT next occurrence.
	Partial bool
}

// DefaultAIDs is the UnionPay list a terminal in China uses: the PBOC
// debit/credit family by partial match (A0000003330101 matches
// ...010101, ...010102, ...), then e-cash exactly.
func DefaultAIDs() []TerminalAID {
	// Fresh slices: callers may modify the list they get.
	return []TerminalAID{
		{AID: AIDDebit()[:7], Partial: true},
		{AID: AIDECash()},
	}
}

// AIDName returns the name of a known AID ("UnionPay Debit", "UnionPay
// Credit", "UnionPay Quasi-credit", "UnionPay e-Cash", "UnionPay US
// Common Debit"), or "".
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
}
