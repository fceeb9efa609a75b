package sscard

import (
	"errors"
	"reflect"
	"testing"
)

func FuzzDecodeRecord(f *testing.F) {
	f.Add(byte(5), mustHex("0110330100D1560000050114F199D286DF7E"))
	f.Add(byte(6), mustHex("091EB4F7C8FCD1C2202020202020202020202020202020202020202020202020"))
	f.Add(byte(6), mustHex("0C033326FF"))
	f.Fuzz(func(t *testing.T, sfi byte, rec []byte) {
		var info BasicInfo
		err := DecodeRecord(&info, sfi, rec)
		if err != nil {
			if !errors.Is(err, ErrMalformedRecord) {
				t.Fatalf("untyped error %v", err)
			}
			if !reflect.DeepEqual(info, BasicInfo{}) {
				t.Fatalf("partial data on error: %+v", info)
			}
		}
	})
}

func FuzzParseReadCardBas(f *testing.F) {
	f.Add(sampleGen2)
	f.Add(sampleGen3NoH)
	f.Fuzz(func(t *testing.T, s string) {
		info, term, err := ParseReadCardBas(s)
		if err != nil {
			if !errors.Is(err, ErrMinistryFormat) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out := FormatReadCardBas(info, term)
		info2, term2, err := ParseReadCardBas(out)
		if err != nil || term2 != term || !reflect.DeepEqual(info, info2) {
			t.Fatalf("round trip of %q via %q: %v", s, out, err)
		}
	})
}

func FuzzParseStep1(f *testing.F) {
	f.Add(sampleStep1)
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseStep1(s)
		if err != nil {
			if !errors.Is(err, ErrMinistryFormat) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		st2, err := ParseStep1(st.String())
		if err != nil || !reflect.DeepEqual(st, st2) {
			t.Fatalf("round trip %q: %v", s, err)
		}
	})
}

func FuzzParseStep2Input(f *testing.F) {
	f.Add(sampleStep2)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseStep2Input(s)
		if err != nil {
			if !errors.Is(err, ErrMinistryFormat) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if b, err := ParseStep2Input(a.String()); err != nil || b != a {
			t.Fatalf("round trip %q: %v", s, err)
		}
	})
}

func FuzzDERLen(f *testing.F) {
	f.Add([]byte{0x30, 0x82, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := derLen(b)
		if err == nil && n < 2 {
			t.Fatalf("length %d", n)
		}
	})
}
