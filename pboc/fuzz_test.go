package pboc

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/sm"
)

// Fuzz targets of the parsers. Seeds are in testdata/fuzz/<Target>/
// (regenerate with PBOC_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus).
// Each asserts no panic, errors wrapping ErrMalformed, and that what is
// accepted re-encodes or keeps its invariants.

func checkErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("error does not wrap ErrMalformed: %v", err)
	}
}

func FuzzParseFCI(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		fci, err := ParseFCI(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		if len(fci.DFName) < 1 || len(fci.DFName) > 16 || fci.DirectorySFI > 30 {
			t.Fatalf("accepted %+v", fci)
		}
		if fci.PDOL != nil {
			d, err := ParseDOL(fci.PDOL.Bytes())
			if err != nil || len(d) != len(fci.PDOL) {
				t.Fatalf("PDOL %v does not re-encode: %v", fci.PDOL, err)
			}
		}
		checkEntries(t, fci.Entries)
		for _, l := range []*LogEntry{fci.LogEntry, fci.LoadLogEntry} {
			if l != nil && (l.SFI < 1 || l.SFI > 30) {
				t.Fatalf("log entry %+v", l)
			}
		}
		// The same bytes are valid BER, so the pretty printer takes them.
		list, err := apdu.ParseBER(b)
		if err != nil {
			t.Fatalf("FCI accepted but not BER: %v", err)
		}
		_ = Describe(list)
	})
}

func checkEntries(t *testing.T, entries []DirectoryEntry) {
	t.Helper()
	for _, e := range entries {
		if len(e.AID) < 5 || len(e.AID) > 16 || (!e.HasPriority && e.Priority != 0) {
			t.Fatalf("accepted entry %+v", e)
		}
		for _, s := range []string{e.Label, e.PreferredName} {
			if !utf8.ValidString(s) {
				t.Fatalf("label %q is not UTF-8", s)
			}
		}
	}
}

func FuzzParseDirectoryRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseDirectoryRecord(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		if len(entries) == 0 {
			t.Fatal("accepted a record without entries")
		}
		checkEntries(t, entries)
	})
}

func FuzzParseAFL(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseAFL(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		if got := EncodeAFL(entries); !bytes.Equal(got, b) {
			t.Fatalf("AFL %X re-encodes as %X", b, got)
		}
		for _, e := range entries {
			if e.SFI < 1 || e.SFI > 30 || e.First < 1 || e.Last < e.First || int(e.ODA) > int(e.Last-e.First)+1 {
				t.Fatalf("accepted entry %+v", e)
			}
		}
	})
}

func FuzzParseDOL(f *testing.F) {
	term := Terminal{
		Amount: 1250, Date: time.Date(2026, 11, 20, 9, 30, 15, 0, time.UTC),
		UnpredictableNumber: []byte{1, 2, 3, 4}, Extra: map[apdu.Tag][]byte{0x9F7B: {0x10, 0x00}},
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDOL(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		if got := d.Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("DOL %X re-encodes as %X", b, got)
		}
		data, err := term.DOLData(d)
		if err != nil || len(data) != d.DataLen() {
			t.Fatalf("DOLData: %d bytes for %d, %v", len(data), d.DataLen(), err)
		}
		_ = d.String()
	})
}

func FuzzParseGPOResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseGPOResponse(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		if (r.Format != 1 && r.Format != 2) || !bytes.Equal(r.Raw, b) {
			t.Fatalf("accepted %+v", r)
		}
		if r.AFL != nil {
			if _, err := ParseAFL(EncodeAFL(r.AFL)); err != nil {
				t.Fatalf("AFL %v: %v", r.AFL, err)
			}
		}
		if r.Format == 1 && r.Data != nil {
			t.Fatal("format 1 with data objects")
		}
		for _, d := range r.Data {
			if d.Tag == 0x82 || d.Tag == 0x94 {
				t.Fatalf("%s left in Data", d.Tag)
			}
		}
	})
}

func FuzzParseLogRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, format, rec []byte) {
		d, err := ParseDOL(format)
		if err != nil {
			return
		}
		r, err := ParseLogRecord(d, rec)
		checkErr(t, err)
		if err != nil {
			return
		}
		var joined []byte
		for _, fl := range r.Fields {
			joined = append(joined, fl.Value...)
		}
		if len(r.Fields) != len(d) || !bytes.Equal(joined, rec) || !bytes.Equal(r.Raw, rec) {
			t.Fatalf("fields %+v do not make up %X", r.Fields, rec)
		}
		if !utf8.ValidString(r.Merchant) {
			t.Fatalf("merchant %q", r.Merchant)
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if tr, err := ParseTrack2(b); err == nil {
			if tr.PAN == "" || len(tr.Expiry) != 4 || len(tr.ServiceCode) != 3 {
				t.Fatalf("track 2 %+v", tr)
			}
		} else {
			checkErr(t, err)
		}
		objs, err := ParseRecord(b)
		checkErr(t, err)
		if err != nil {
			return
		}
		a, err := NewAccount(nil, objs)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrMissingData) {
				t.Fatalf("NewAccount: %v", err)
			}
			return
		}
		if a.PAN == "" || (a.Track2 != nil && a.Track2.PAN != a.PAN) {
			t.Fatalf("account %+v", a)
		}
	})
}

func FuzzDescribe(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 {
			if s, err := DecodeText(b[1:], int(b[0]%12)); err == nil && !utf8.ValidString(s) {
				t.Fatalf("DecodeText gave %q", s)
			}
		}
		list, err := apdu.ParseBER(b)
		if err != nil {
			return
		}
		nodes := Describe(list)
		if len(nodes) != len(list) {
			t.Fatalf("%d nodes for %d objects", len(nodes), len(list))
		}
		if err := FormatTLV(io.Discard, list); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseODACerts feeds the SM2 ODA object parsers of package sm, which
// this package calls on card data: accepted objects re-encode exactly.
func FuzzParseODACerts(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(name string, enc func() []byte, err error) {
			if err != nil {
				if !errors.Is(err, sm.ErrODAFormat) {
					t.Fatalf("%s: error does not wrap sm.ErrODAFormat: %v", name, err)
				}
				return
			}
			if got := enc(); !bytes.Equal(got, b) {
				t.Fatalf("%s: %X re-encodes as %X", name, b, got)
			}
		}
		ic, err := sm.ParseIssuerCert(b)
		check("issuer certificate", func() []byte { return ic.Bytes() }, err)
		cc, err := sm.ParseICCCert(b)
		check("ICC certificate", func() []byte { return cc.Bytes() }, err)
		ss, err := sm.ParseSignedStaticData(b)
		check("signed static data", func() []byte { return ss.Bytes() }, err)
		ds, err := sm.ParseDynamicSignature(b)
		check("dynamic signature", func() []byte { return ds.Bytes() }, err)
		if err == nil {
			_, _ = ds.ICCDynamicNumber()
		}
	})
}

// FuzzParseAIDList feeds the terminal AID list parser (a file the operator
// names in sscctl pboc --aids and sscd's aids setting): errors wrap
// ErrAIDList; an accepted list keeps the documented bounds and survives
// MarshalAIDList and a second parse unchanged.
func FuzzParseAIDList(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseAIDList(b)
		if err != nil {
			if !errors.Is(err, ErrAIDList) {
				t.Fatalf("error does not wrap ErrAIDList: %v", err)
			}
			return
		}
		if len(l) == 0 || len(l) > MaxTerminalAIDs {
			t.Fatalf("%d entries accepted", len(l))
		}
		for i, a := range l {
			if len(a.AID) < 5 || len(a.AID) > 16 || len(a.Name) > 64 {
				t.Fatalf("entry %d accepted: %+v", i, a)
			}
			for _, o := range l[:i] {
				if bytes.Equal(o.AID, a.AID) {
					t.Fatalf("duplicate %X accepted", a.AID)
				}
			}
		}
		data, err := MarshalAIDList(l)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseAIDList(data)
		if err != nil {
			t.Fatalf("marshalled list does not parse: %v\n%s", err, data)
		}
		if len(back) != len(l) {
			t.Fatalf("%d entries back, want %d", len(back), len(l))
		}
		for i := range l {
			if !bytes.Equal(back[i].AID, l[i].AID) || back[i].Partial != l[i].Partial || back[i].Name != l[i].Name {
				t.Fatalf("entry %d: %+v back as %+v", i, l[i], back[i])
			}
		}
	})
}
