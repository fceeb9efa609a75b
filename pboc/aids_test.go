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
		{hx("A0000000031010"), "Visa"},
		{hx("A0000000041010"), "Mastercard"},
		{hx("A000000025010801"), "American Express"}, // PIX extension
		{hx("A0000000032010"), ""},                   // Visa Electron: not in the default list
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
	want := []struct {
		aid     string
		partial bool
	}{
		{"A000000333010101", true}, {"A000000333010102", true}, {"A000000333010103", true},
		{"A000000333010106", false}, {"A000000333010108", true},
		{"A0000000031010", true}, {"A0000000041010", true}, {"A0000000651010", true},
		{"A00000002501", true}, {"A0000001523010", true},
	}
	if len(l) != len(want) {
		t.Fatalf("DefaultAIDs = %+v", l)
	}
	for i, w := range want {
		if !bytes.Equal(l[i].AID, hx(w.aid)) || l[i].Partial != w.partial || l[i].Name == "" {
			t.Errorf("entry %d = %X partial %v %q, want %s partial %v", i, l[i].AID, l[i].Partial, l[i].Name, w.aid, w.partial)
		}
	}
	l[0].AID[0] = 0
	l[3].AID[0] = 0
	if AIDDebit()[0] != 0xA0 || AIDECash()[0] != 0xA0 || DefaultAIDs()[0].AID[0] != 0xA0 {
		t.Error("DefaultAIDs shares memory with the package")
	}
}
