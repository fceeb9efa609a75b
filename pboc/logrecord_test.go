package pboc

import (
	"bytes"
	"testing"
)

func TestParseLogRecord(t *testing.T) {
	format, err := ParseDOL(fxLogFormat)
	if err != nil {
		t.Fatal(err)
	}
	if format.DataLen() != 45 {
		t.Fatalf("log format is %d bytes, want 45", format.DataLen())
	}
	tests := []struct {
		date, time string
		amount     uint64
		merchant   string
		atc        uint16
	}{
		{"2026-11-20", "09:30:15", 1250, "社区卫生服务中心", 3},
		{"2026-11-15", "18:10:02", 3800, "人民医院药房", 2},
		{"2026-11-01", "08:00:00", 600, "公交", 1},
	}
	for i, tt := range tests {
		r, err := ParseLogRecord(format, fxLog[i])
		if err != nil {
			t.Fatalf("record %d: %v", i+1, err)
		}
		if r.Date != tt.date || r.Time != tt.time || r.Amount != tt.amount || r.OtherAmount != 0 ||
			r.Country != "156" || r.Currency != "156" || r.Merchant != tt.merchant || r.Type != 0 || r.ATC != tt.atc {
			t.Errorf("record %d: %+v", i+1, r)
		}
		if len(r.Fields) != len(format) || r.Fields[6].Name != "Merchant Name and Location" ||
			!bytes.Equal(r.Fields[6].Value, fxLog[i][22:42]) {
			t.Errorf("record %d fields: %+v", i+1, r.Fields)
		}
		if !bytes.Equal(r.Raw, fxLog[i]) {
			t.Errorf("record %d raw %X", i+1, r.Raw)
		}
		rejectsPrefixes(t, fxLog[i], func(b []byte) error { _, err := ParseLogRecord(format, b); return err })
	}
}

func TestParseLogRecordVariants(t *testing.T) {
	tests := []struct {
		name   string
		format string
		rec    string
		check  func(*LogRecord) bool
	}{
		{"blank merchant, spaces", "9F4E05", "2020202020", func(r *LogRecord) bool { return r.Merchant == "" }},
		{"ASCII merchant", "9F4E08", "53484F5020410000", func(r *LogRecord) bool { return r.Merchant == "SHOP A" }},
		{"zero-filled slot", "9A03 9F2103 9F0206", "000000 000000 000000000000", func(r *LogRecord) bool {
			return r.Date == "2000-00-00" && r.Time == "00:00:00" && r.Amount == 0
		}},
		{"unknown tag kept raw", "DF7F02 9F3601", "ABCD 07", func(r *LogRecord) bool {
			return r.ATC == 7 && r.Fields[0].Name == "unknown" && bytes.Equal(r.Fields[0].Value, hx("ABCD"))
		}},
		{"duplicate tag: first wins", "9C01 9C01", "09 20", func(r *LogRecord) bool { return r.Type == 9 && len(r.Fields) == 2 }},
		{"empty format", "", "", func(r *LogRecord) bool { return len(r.Fields) == 0 }},
		{"short amount", "9F0203", "012345", func(r *LogRecord) bool { return r.Amount == 12345 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, err := ParseDOL(hx(tt.format))
			if err != nil {
				t.Fatal(err)
			}
			r, err := ParseLogRecord(format, hx(tt.rec))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(r) {
				t.Errorf("got %+v", r)
			}
		})
	}
}

func TestParseLogRecordRejects(t *testing.T) {
	tests := []struct{ name, format, rec string }{
		{"too long", "9C01", "0000"},
		{"too short", "9C02", "00"},
		{"date not BCD", "9A03", "26112A"},
		{"date 2 bytes", "9A02", "2611"},
		{"time 4 bytes", "9F2104", "09301500"},
		{"amount not BCD", "9F0206", "00000000125A"},
		{"amount overflow", "9F020B", "9999999999999999999999"},
		{"country not n3", "9F1A02", "1156"},
		{"currency 1 byte", "5F2A01", "56"},
		{"type 2 bytes", "9C02", "0000"},
		{"type not BCD", "9C01", "0F"},
		{"ATC 3 bytes", "9F3603", "000001"},
		{"merchant control char", "9F4E04", "41074200"},
		{"merchant bad GBK", "9F4E02", "8130"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, err := ParseDOL(hx(tt.format))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseLogRecord(format, hx(tt.rec))
			wantMalformed(t, err)
		})
	}
}
