package pboc

import "bytes"

// Known UnionPay (RID A000000333) application identifiers.
var (
	AIDDebit       = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01}
	AIDCredit      = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x02}
	AIDQuasiCredit = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x03}
	AIDECash       = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x06}
	AIDUnionPayUS  = []byte{0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x08}
	RIDUnionPay    = []byte{0xA0, 0x00, 0x00, 0x03, 0x33}
	PSEName        = []byte("1PAY.SYS.DDF01")
	PPSEName       = []byte("2PAY.SYS.DDF01")
)

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
		{AID: bytes.Clone(AIDDebit[:7]), Partial: true},
		{AID: bytes.Clone(AIDECash)},
	}
}

// AIDName returns the name of a known AID ("UnionPay Debit", "UnionPay
// Credit", "UnionPay Quasi-credit", "UnionPay e-Cash", "UnionPay US
// Common Debit"), or "".
//
// An AID that extends a known one (a PIX extension) gets its name too.
func AIDName(aid []byte) string {
	for _, k := range knownAIDs {
		if bytes.HasPrefix(aid, k.aid) {
			return k.name
		}
	}
	return ""
}

var knownAIDs = []struct {
	aid  []byte
	name string
}{
	{AIDDebit, "UnionPay Debit"},
	{AIDCredit, "UnionPay Credit"},
	{AIDQuasiCredit, "UnionPay Quasi-credit"},
	{AIDECash, "UnionPay e-Cash"},
	{AIDUnionPayUS, "UnionPay US Common Debit"},
}
