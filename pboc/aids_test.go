package pboc

import (
	"bytes"
	"testing"
)

func TestAIDName(t *testing.T) {
	tests := []struct {
		aid  []byte
		want string
	}{
		{AIDDebit(), "UnionPay Debit"},
		{AIDCredit(), "UnionPay Credit"},
		{AIDQuasiCredit(), "UnionPay Quasi-credit"},
		{AIDECash(), "UnionPay e-Cash"},
		{AIDUnionPayUS(), "UnionPay US Common Debit"},
		{append(bytes.Clone(AIDDebit()), 0x01), "UnionPay Debit"}, // PIX extension
		{RIDUnionPay(), ""},
		{hx("A0000000031010"), ""},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := AIDName(tt.aid); got != tt.want {
			t.Errorf("AIDName(%X) = %q, want %q", tt.aid, got, tt.want)
		}
	}
}

func TestDefaultAIDs(t *testing.T) {
	l := DefaultAIDs()
	if len(l) != 2 || !bytes.Equal(l[0].AID, hx("A0000003330101")) || !l[0].Partial ||
		!bytes.Equal(l[1].AID, AIDECash()) || l[1].Partial {
		t.Fatalf("DefaultAIDs = %+v", l)
	}
	l[0].AID[0] = 0
	l[1].AID[0] = 0
	if AIDDebit()[0] != 0xA0 || AIDECash()[0] != 0xA0 || DefaultAIDs()[0].AID[0] != 0xA0 {
		t.Error("DefaultAIDs shares memory with the package")
	}
}
