package sim

import (
	"testing"

	"github.com/sscard/ssc/apdu"
)

func TestBlockedSSSE(t *testing.T) {
	for _, mode := range []Mode{Contact, Contactless} {
		p, err := Builtin("gen3")
		if err != nil {
			t.Fatal(err)
		}
		p.SSSE.Blocked = true
		c, err := New(p, Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			apdu string
			want apdu.StatusWord
		}{
			{"00A404000F7378312E73682EC9E7BBE1B1A3D5CF", apdu.SWFileInvalidated},
			{"00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF", apdu.SWFileInvalidated},
			{"00B2012C12", apdu.SWConditionsNotSatisfied},
			{"0084000008", apdu.SWConditionsNotSatisfied},
			{"0020000003123456", apdu.SWConditionsNotSatisfied},
			{"00A40000023F00", apdu.SWOK}, // the MF stays usable
		}
		for _, tt := range tests {
			resp, err := apdu.ParseResponse(c.Transmit(h(tt.apdu)))
			if err != nil || resp.SW != tt.want {
				t.Errorf("%v %s: %v %v, want %v", mode, tt.apdu, resp.SW, err, tt.want)
			}
		}
	}
}
