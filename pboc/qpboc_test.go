package pboc

import (
	"errors"
	"testing"

	"github.com/sscard/ssc/apdu"
)

func TestOutcomeOf(t *testing.T) {
	obj := func(tag apdu.Tag, hexv string) apdu.TLV { return apdu.TLV{Tag: tag, Value: hx(hexv)} }
	good := []apdu.TLV{obj(0x9F36, "0004"), obj(0x9F26, "685CD6CF407CC80F"), obj(0x9F27, "40"), obj(0x9F5D, "000000049700")}
	replace := func(tag apdu.Tag, hexv string) []apdu.TLV {
		out := []apdu.TLV{}
		for _, o := range good {
			if o.Tag == tag {
				if hexv == "-" {
					continue
				}
				o = obj(tag, hexv)
			}
			out = append(out, o)
		}
		return out
	}
	tests := []struct {
		name     string
		data     []apdu.TLV
		decision string
		bad      bool
	}{
		{"offline approved", good, "offline approved", false},
		{"online", replace(0x9F27, "80"), "online", false},
		{"declined", replace(0x9F27, "00"), "declined", false},
		{"contact answer without cryptogram", []apdu.TLV{obj(0x9F36, "0004")}, "", false},
		{"RFU cryptogram type", replace(0x9F27, "C0"), "", true},
		{"short cryptogram", replace(0x9F26, "685CD6CF"), "", true},
		{"no CID", replace(0x9F27, "-"), "", true},
		{"no ATC", replace(0x9F36, "-"), "", true},
		{"non-BCD 9F5D", replace(0x9F5D, "0000000497A0"), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := outcomeOf(&GPOResponse{Format: 2, Data: tc.data})
			if tc.bad {
				if !errors.Is(err, ErrMalformed) || o != nil {
					t.Fatalf("outcome %+v, err %v; want ErrMalformed", o, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.decision == "" {
				if o != nil {
					t.Fatalf("outcome %+v, want none", o)
				}
				return
			}
			if o.Decision != tc.decision || o.ATC != 4 {
				t.Fatalf("outcome %+v", o)
			}
			if tc.name == "offline approved" && (o.AvailableOffline == nil || *o.AvailableOffline != 49700) {
				t.Fatalf("available offline %v", o.AvailableOffline)
			}
		})
	}
}
