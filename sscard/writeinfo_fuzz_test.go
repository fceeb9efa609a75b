package sscard

import (
	"errors"
	"reflect"
	"testing"
)

func FuzzParseWriteInfo(f *testing.F) {
	f.Add(sampleWriteInfo)
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWriteInfo(s)
		if err != nil {
			if !errors.Is(err, ErrWriteInfo) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out := w.String()
		w2, err := ParseWriteInfo(out)
		if err != nil || !reflect.DeepEqual(w, w2) {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, out, w2, err)
		}
		if err := w.Validate(); err != nil {
			t.Fatalf("accepted %q but Validate: %v", s, err)
		}
		recs, err := w.Records()
		if err != nil {
			t.Fatalf("accepted %q but Records: %v", s, err)
		}
		var info BasicInfo
		for _, r := range recs {
			if err := DecodeRecord(&info, r.SFI, r.Data); err != nil {
				t.Fatalf("%q: record %s %X does not decode: %v", s, r.Field, r.Data, err)
			}
		}
		if err := w.Matches(&info); err != nil {
			t.Fatalf("%q: encode → decode: %v", s, err)
		}
	})
}
