package pboc

import "testing"

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		table int
		want  string
		err   bool
	}{
		{"ASCII", []byte("PBOC DEBIT"), 0, "PBOC DEBIT", false},
		{"UTF-8", []byte("电子现金"), 0, "电子现金", false},
		{"GBK", gbk("电子现金"), 0, "电子现金", false},
		{"ISO 8859-1", hx("4372E9646974"), 1, "Crédit", false},
		{"ISO 8859-5", hx("B1D0DDDA"), 5, "Банк", false},
		{"ISO 8859-7", hx("E1"), 7, "α", false},
		{"table 11 means none", gbk("银联"), 11, "银联", false},
		{"empty", nil, 0, "", false},
		{"control", []byte("A\x00B"), 0, "", true},
		{"DEL", []byte("A\x7F"), 0, "", true},
		{"C1 in 8859-1", hx("41 85"), 1, "", true},
		{"undefined in 8859-3", hx("A5"), 3, "", true},
		{"bad GBK", hx("81"), 0, "", true},
		{"GBK lead byte then ASCII", hx("8130"), 0, "", true},
		{"U+FFFD in UTF-8", []byte("\uFFFD"), 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeText(tt.in, tt.table)
			if tt.err {
				wantMalformed(t, err)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
