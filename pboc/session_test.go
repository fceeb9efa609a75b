package pboc_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/sm"
)

func aids(list []pboc.Candidate) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.AID.String())
	}
	return out
}

const (
	debitHex = "A000000333010101"
	ecashHex = "A000000333010106"
)

func TestApplications(t *testing.T) {
	aidCredit := h("A000000333010102")
	extraApp := func(aid []byte, prio []byte) func(*fakeICC) {
		return func(f *fakeICC) {
			a := *f.apps[0]
			a.aid = aid
			fields := [][]byte{tlv(0x50, []byte("EXTRA"))}
			if prio != nil {
				fields = append(fields, tlv(0x87, prio))
			}
			fields = append(fields, tlv(0x9F38, fakePDOL))
			a.fci = tlv(0x6F, tlv(0x84, aid), tlv(0xA5, fields...))
			f.apps = slices.Insert(f.apps, 1, &a)
		}
	}
	for _, tc := range []struct {
		name        string
		o           fakeOpts
		edit        func(*fakeICC)
		aids        []pboc.TerminalAID
		method      string
		fallback    string // substring
		want        []string
		blocked     []string
		err         error
		sentPrefix  string // a command that must have been sent
		sentPrefix2 string
	}{
		{name: "PSE", method: "PSE", want: []string{debitHex, ecashHex}, sentPrefix: "00B2010C"},
		{name: "PPSE", o: fakeOpts{contactless: true}, method: "PPSE", want: []string{debitHex, ecashHex}, sentPrefix: "00A404000E325041592E5359532E4444463031"},
		{name: "PSE missing", o: fakeOpts{noPSE: true}, method: "AID list", fallback: "6A82", want: []string{debitHex, ecashHex},
			sentPrefix: "00A4040208A000000333010101", sentPrefix2: "00A4040007A000000003101000"},
		{name: "PPSE missing", o: fakeOpts{noPSE: true, contactless: true}, method: "AID list", fallback: "6A82", want: []string{debitHex, ecashHex}},
		{name: "PSE blocked", edit: func(f *fakeICC) { f.pseSW = apdu.SWFileInvalidated }, method: "AID list", fallback: "6283", want: []string{debitHex, ecashHex}},
		{name: "card blocked", edit: func(f *fakeICC) { f.pseSW = apdu.SWFunctionNotSupported }, err: pboc.ErrCardBlocked},
		{name: "PSE FCI malformed", edit: func(f *fakeICC) { f.pseFCI = h("6F05840E3150") }, method: "AID list", fallback: "PSE", want: []string{debitHex, ecashHex}},
		{name: "PSE FCI without A5", edit: func(f *fakeICC) { f.pseFCI = tlv(0x6F, tlv(0x84, pboc.PSEName())) }, method: "AID list", want: []string{debitHex, ecashHex}},
		{name: "directory record malformed", edit: func(f *fakeICC) { f.pseRecords[1] = h("7003610199") }, method: "AID list", fallback: "record 1", want: []string{debitHex, ecashHex}},
		{name: "directory record not 70", edit: func(f *fakeICC) { f.pseRecords[1] = tlv(0x71, tlv(0x61, tlv(0x4F, pboc.AIDDebit()))) }, method: "AID list", fallback: "record 1", want: []string{debitHex, ecashHex}},
		{name: "PPSE FCI malformed", o: fakeOpts{contactless: true}, edit: func(f *fakeICC) { f.ppseFCI = h("6F0384") }, method: "AID list", want: []string{debitHex, ecashHex}},
		{name: "endless directory", edit: func(f *fakeICC) {
			f.hook = func(cmd []byte) ([]byte, bool) {
				if f.cur == -2 && cmd[1] == 0xB2 {
					return append(tlv(0x70, tlv(0x61, tlv(0x4F, pboc.AIDDebit()))), 0x90, 0x00), true
				}
				return nil, false
			}
		}, method: "AID list", fallback: "more than", want: []string{debitHex, ecashHex}},
		{name: "empty directory", edit: func(f *fakeICC) { delete(f.pseRecords, 1) }, method: "AID list", fallback: "lists no application", want: []string{debitHex, ecashHex}},
		{name: "debit blocked", edit: func(f *fakeICC) { f.apps[0].blocked = true }, method: "PSE", want: []string{ecashHex}, blocked: []string{debitHex}},
		{name: "debit blocked, AID list", o: fakeOpts{noPSE: true}, edit: func(f *fakeICC) { f.apps[0].blocked = true }, method: "AID list", want: []string{ecashHex}, blocked: []string{debitHex}},
		// Without an FCI the blocked application is only known by the terminal AID.
		{name: "debit blocked without FCI", o: fakeOpts{noPSE: true}, edit: func(f *fakeICC) { f.apps[0].blocked, f.apps[0].fci = true, nil }, method: "AID list", want: []string{ecashHex}, blocked: []string{debitHex}},
		{name: "all blocked", edit: func(f *fakeICC) { f.apps[0].blocked, f.apps[1].blocked = true, true }, method: "PSE", blocked: []string{debitHex, ecashHex}, err: pboc.ErrApplicationBlocked},
		{name: "partial next occurrence", o: fakeOpts{noPSE: true}, edit: extraApp(aidCredit, h("03")),
			aids:   []pboc.TerminalAID{{AID: h("A0000003330101"), Partial: true}},
			method: "AID list", want: []string{debitHex, ecashHex, "A000000333010102"}, sentPrefix: "00A4040207A0000003330101"},
		{name: "exact only", o: fakeOpts{noPSE: true}, aids: []pboc.TerminalAID{{AID: h("A0000003330101")}}, method: "AID list", err: pboc.ErrNoApplication},
		{name: "exact e-cash", o: fakeOpts{noPSE: true}, aids: []pboc.TerminalAID{{AID: pboc.AIDECash()}}, method: "AID list", want: []string{ecashHex}},
		{name: "PSE filtered by terminal list", aids: []pboc.TerminalAID{{AID: pboc.AIDECash()}}, method: "PSE", want: []string{ecashHex}},
		{name: "priority order", o: fakeOpts{noPSE: true}, edit: func(f *fakeICC) {
			extraApp(aidCredit, nil)(f) // no priority: last
			f.apps[0].fci = bytes.Replace(f.apps[0].fci, h("870101"), h("870103"), 1)
		}, method: "AID list", want: []string{ecashHex, debitHex, "A000000333010102"}},
		{name: "card ignores next occurrence", o: fakeOpts{noPSE: true}, edit: func(f *fakeICC) {
			f.hook = func(cmd []byte) ([]byte, bool) {
				if cmd[1] == 0xA4 && cmd[3] == 0x02 {
					cmd = slices.Clone(cmd)
					cmd[3] = 0
					return f.selectName(cmd[5:5+int(cmd[4])], 0), true
				}
				return nil, false
			}
		}, aids: []pboc.TerminalAID{{AID: h("A0000003330101"), Partial: true}}, method: "AID list", want: []string{debitHex}},
		{name: "directory entry not on card", edit: func(f *fakeICC) { f.apps = f.apps[1:] }, method: "PSE", want: []string{ecashHex}},
		{name: "directory entry FCI malformed", edit: func(f *fakeICC) { f.apps[0].fci = h("6F02840A") }, method: "PSE", want: []string{ecashHex}},
		{name: "directory entry FCI other DF name", edit: func(f *fakeICC) {
			f.apps[0].fci = bytes.Replace(f.apps[0].fci, pboc.AIDDebit(), pboc.AIDCredit(), 1)
		}, method: "PSE", want: []string{ecashHex}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, card := newFake(t, tc.o, tc.edit, pboc.Options{AIDs: tc.aids})
			list, err := s.Applications(context.Background())
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tc.method == "" {
				return
			}
			if list == nil {
				t.Fatal("no list")
			}
			if list.Method != tc.method {
				t.Errorf("method %q, want %q (fallback %q)", list.Method, tc.method, list.Fallback)
			}
			if (tc.method == "AID list") != (list.Fallback != "") || !strings.Contains(list.Fallback, tc.fallback) {
				t.Errorf("fallback %q, want one containing %q", list.Fallback, tc.fallback)
			}
			if got := aids(list.Candidates); !slices.Equal(got, tc.want) {
				t.Errorf("candidates %v, want %v (skipped %q)", got, tc.want, list.Skipped)
			}
			if got := aids(list.Blocked); !slices.Equal(got, tc.blocked) {
				t.Errorf("blocked %v, want %v", got, tc.blocked)
			}
			for _, c := range list.Candidates {
				if c.FCI == nil || !bytes.Equal(c.FCI.DFName, c.AID) || c.Blocked || c.Source != list.Method {
					t.Errorf("candidate %s: FCI %v, blocked %v, source %q", c.AID, c.FCI, c.Blocked, c.Source)
				}
			}
			for _, p := range []string{tc.sentPrefix, tc.sentPrefix2} {
				if p != "" && card.countPrefix(p) == 0 {
					t.Errorf("no command %s… sent:\n%s", p, strings.Join(card.sent(), "\n"))
				}
			}
			if n := len(card.sent()); n > 60 {
				t.Errorf("%d commands sent", n)
			}
		})
	}
}

// TestNextOccurrenceEnds checks the AID list method stops at 6A82 and
// selects every application once.
func TestNextOccurrenceEnds(t *testing.T) {
	s, card := newFake(t, fakeOpts{noPSE: true}, nil, pboc.Options{AIDs: []pboc.TerminalAID{{AID: h("A0000003330101"), Partial: true}}})
	if _, err := s.Applications(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"00A404000E315041592E5359532E444446303100",
		"00A4040007A000000333010100",
		"00A4040207A000000333010100",
		"00A4040207A000000333010100",
	}
	var sel []string
	for _, c := range card.sent() {
		if strings.HasPrefix(c, "00A4") {
			sel = append(sel, c)
		}
	}
	if !slices.Equal(sel, want) {
		t.Errorf("SELECTs\n%s\nwant\n%s", strings.Join(sel, "\n"), strings.Join(want, "\n"))
	}
}

func TestConfirmation(t *testing.T) {
	// Debit needs confirmation (87 = 81) and has the highest priority.
	edit := func(f *fakeICC) {
		f.pseRecords[1] = bytes.Replace(f.pseRecords[1], h("870101"), h("870181"), 1)
	}
	for _, tc := range []struct {
		name    string
		confirm func(pboc.Candidate) bool
		want    string
		asked   int
	}{
		{"no callback", nil, ecashHex, 0},
		{"refused", func(pboc.Candidate) bool { return false }, ecashHex, 1},
		{"confirmed", func(pboc.Candidate) bool { return true }, debitHex, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := 0
			var confirm func(pboc.Candidate) bool
			if tc.confirm != nil {
				confirm = func(c pboc.Candidate) bool { asked++; return tc.confirm(c) }
			}
			s, _ := newFake(t, fakeOpts{}, edit, pboc.Options{Confirm: confirm})
			ctx := context.Background()
			list, err := s.Applications(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := aids(list.Candidates); !slices.Equal(got, []string{debitHex, ecashHex}) {
				t.Fatalf("order %v", got)
			}
			r, err := s.Read(ctx, pboc.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Application.AID.String() != tc.want || asked != tc.asked {
				t.Errorf("chose %s after %d questions, want %s after %d", r.Application.AID, asked, tc.want, tc.asked)
			}
		})
	}
	t.Run("only confirmation apps", func(t *testing.T) {
		s, _ := newFake(t, fakeOpts{}, func(f *fakeICC) {
			edit(f)
			f.apps = f.apps[:1]
		}, pboc.Options{})
		if _, err := s.Read(context.Background(), pboc.ReadOptions{}); !errors.Is(err, pboc.ErrNoApplication) {
			t.Fatalf("err = %v, want ErrNoApplication", err)
		}
	})
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name        string
		o           fakeOpts
		aid         []byte
		wantAID     string
		format      int
		method      string
		apdus       int
		dynamicSize int
	}{
		// SELECT PSE, 2 directory READ RECORDs, 2 final SELECTs, GPO, 4 records, INTERNAL AUTHENTICATE; T=0 doubles the data answers.
		{name: "contact", wantAID: debitHex, format: 1, method: "DDA"},
		{name: "contact e-cash", aid: pboc.AIDECash(), wantAID: ecashHex, format: 2, method: "DDA"},
		{name: "contactless", o: fakeOpts{contactless: true}, wantAID: debitHex, format: 2, method: "fDDA"},
		{name: "SDA only", o: fakeOpts{aip: h("5C00")}, wantAID: debitHex, format: 1, method: "SDA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, card := newFake(t, tc.o, nil, pboc.Options{})
			r, err := s.Read(context.Background(), pboc.ReadOptions{AID: tc.aid, ODA: true})
			if err != nil {
				t.Fatal(err)
			}
			if r.Application.AID.String() != tc.wantAID || r.GPO.Format != tc.format {
				t.Errorf("AID %s format %d", r.Application.AID, r.GPO.Format)
			}
			if r.Account == nil || r.Account.PAN != "6217991000001234561" {
				t.Errorf("account %+v", r.Account)
			}
			if len(r.Records) != 4 || !r.Records[0].ODA || !r.Records[1].ODA || r.Records[2].ODA {
				t.Errorf("records %+v", r.Records)
			}
			if len(r.PDOLData) != 34 {
				t.Errorf("PDOL data %s", r.PDOLData)
			}
			wantTTQ := byte(0)
			if tc.o.contactless {
				wantTTQ = 0x26
			}
			if r.PDOLData[0] != wantTTQ {
				t.Errorf("TTQ byte 1 %02X, want %02X", r.PDOLData[0], wantTTQ)
			}
			aip := r.GPO.AIP
			if !bytes.HasSuffix(r.StaticData, aip[:]) || !bytes.HasPrefix(r.StaticData, h("5713")) {
				t.Errorf("static data %s", r.StaticData)
			}
			if r.ODA == nil || !r.ODA.OK || r.ODA.Method != tc.method || r.ODA.CAIndex != 0x80 || r.ODA.RID.String() != "A000000333" {
				t.Fatalf("ODA %+v", r.ODA)
			}
			if tc.method != "SDA" && len(r.ODA.DynamicNumber) != 8 {
				t.Errorf("dynamic number %s", r.ODA.DynamicNumber)
			}
			if got := card.countPrefix("0088"); (tc.method == "DDA") != (got == 1) {
				t.Errorf("%d INTERNAL AUTHENTICATE for %s", got, tc.method)
			}
			if got := card.countPrefix("80A8"); got != 1 {
				t.Errorf("%d GPOs", got)
			}
			// The session can still use the application; a second Read
			// selects it again (a second GPO would be refused).
			if _, err := s.Read(context.Background(), pboc.ReadOptions{AID: tc.aid}); err != nil {
				t.Fatalf("second Read: %v", err)
			}
		})
	}
}

// TestReadAPDUs pins the contact command sequence: the top candidate is
// selected last by application selection, so Read does not select it again.
func TestReadAPDUs(t *testing.T) {
	s, card := newFake(t, fakeOpts{}, func(f *fakeICC) { f.t0 = false }, pboc.Options{Terminal: pboc.Terminal{UnpredictableNumber: h("11223344")}})
	if _, err := s.Read(context.Background(), pboc.ReadOptions{ODA: true}); err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, c := range card.sent() {
		ins = append(ins, c[:8])
	}
	want := []string{"00A40400", "00B2010C", "00B2020C", "00A40400", "00A40400", "80A80000", "00B2010C", "00B2020C", "00B20114", "00B20214", "00880000"}
	if !slices.Equal(ins, want) {
		t.Errorf("commands %v, want %v", ins, want)
	}
	if got := card.sent()[len(card.sent())-1]; got != "008800000411223344"+"00" {
		t.Errorf("INTERNAL AUTHENTICATE %s", got)
	}
}

func TestReadErrors(t *testing.T) {
	rec := func(sfi, n byte, v []byte) func(*fakeICC) {
		return func(f *fakeICC) {
			for _, a := range f.apps {
				a.records[[2]byte{sfi, n}] = v
			}
		}
	}
	gpo := func(v []byte) func(*fakeICC) {
		return func(f *fakeICC) {
			for _, a := range f.apps {
				a.gpo = func([]byte) []byte { return v }
			}
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*fakeICC)
		err  []error
		msg  string
	}{
		{"GPO not TLV", gpo(h("8003")), []error{pboc.ErrMalformed}, "GPO"},
		{"GPO unknown template", gpo(tlv(0x71, h("7C00"))), []error{pboc.ErrMalformed}, "GPO"},
		{"GPO AFL not multiple of 4", gpo(tlv(0x80, h("7C00080101"))), []error{pboc.ErrMalformed}, "GPO"},
		{"GPO format 2 without AIP", gpo(tlv(0x77, tlv(0x94, fakeAFL))), []error{pboc.ErrMalformed}, "GPO"},
		{"GPO AIP too short", gpo(tlv(0x80, h("7C"))), []error{pboc.ErrMalformed}, "GPO"},
		{"GPO refused", func(f *fakeICC) {
			f.hook = func(cmd []byte) ([]byte, bool) {
				if cmd[1] == 0xA8 {
					return sw(apdu.SWConditionsNotSatisfied), true
				}
				return nil, false
			}
		}, []error{apdu.ErrConditionsNotSatisfied}, "GPO"},
		{"record not 70", rec(1, 1, tlv(0x71, tlv(0x5A, panField))), []error{pboc.ErrMalformed}, "SFI 1 #1"},
		{"record truncated", rec(1, 2, h("7010 5A0A6217")), []error{pboc.ErrMalformed}, "SFI 1 #2"},
		{"record two templates", rec(2, 1, slices.Concat(tlv(0x70, tlv(0x8F, h("80"))), tlv(0x70, tlv(0x8F, h("80"))))), []error{pboc.ErrMalformed}, "SFI 2 #1"},
		{"record missing", func(f *fakeICC) {
			for _, a := range f.apps {
				delete(a.records, [2]byte{2, 2})
			}
		}, []error{apdu.ErrNotFound}, "READ RECORD SFI 2 #2"},
		{"no PAN", rec(1, 2, tlv(0x70, tlv(0x5F24, h("311231")))), []error{pboc.ErrMissingData}, "account"},
		{"AFL too long", gpo(tlv(0x80, h("7C00"), bytes.Repeat(h("0801FF00"), 2))), []error{pboc.ErrMalformed}, "AFL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, card := newFake(t, fakeOpts{}, tc.edit, pboc.Options{})
			r, err := s.Read(context.Background(), pboc.ReadOptions{})
			for _, want := range tc.err {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to name %q", err, tc.msg)
			}
			if r != nil && r.Account != nil {
				t.Errorf("reading with account returned with an error")
			}
			if n := len(card.sent()); n > 30 {
				t.Errorf("%d commands", n)
			}
		})
	}
}

func TestODAErrors(t *testing.T) {
	replaceObj := func(sfi, n byte, tag apdu.Tag, v []byte) func(map[[2]byte][]byte) {
		return func(recs map[[2]byte][]byte) {
			list, err := apdu.ParseBER(recs[[2]byte{sfi, n}])
			if err != nil {
				panic(err)
			}
			var out []apdu.TLV
			for _, c := range list[0].Children {
				if c.Tag == tag {
					if v == nil {
						continue
					}
					c.Value = v
				}
				out = append(out, c)
			}
			recs[[2]byte{sfi, n}] = apdu.EncodeBER([]apdu.TLV{{Tag: 0x70, Children: out}})
		}
	}
	flip := func(sfi, n byte, tag apdu.Tag, i int) func(map[[2]byte][]byte) {
		return func(recs map[[2]byte][]byte) {
			list, _ := apdu.ParseBER(recs[[2]byte{sfi, n}])
			t, _ := apdu.FindBER(list[0].Children, tag)
			v := slices.Clone(t.Value)
			v[i] ^= 0x01
			replaceObj(sfi, n, tag, v)(recs)
		}
	}
	badIntAuth := func(f *fakeICC) {
		for _, a := range f.apps {
			good := a.intAuth
			a.intAuth = func(data []byte) []byte {
				v := good(data)
				v[len(v)-1] ^= 1
				return v
			}
		}
	}
	for _, tc := range []struct {
		name    string
		o       fakeOpts
		edit    func(*fakeICC)
		opts    pboc.Options
		err     []error
		step    string
		issuer  bool // ODAResult.IssuerCert set
		readErr bool
	}{
		{name: "issuer cert signature", o: fakeOpts{corrupt: flip(2, 1, 0x90, 20)}, err: []error{sm.ErrIssuerCert, sm.ErrSM2Verify}, step: "issuer certificate"},
		{name: "issuer cert format", o: fakeOpts{corrupt: flip(2, 1, 0x90, 0)}, err: []error{sm.ErrIssuerCert, sm.ErrODAFormat}, step: "issuer certificate"},
		{name: "issuer cert truncated", o: fakeOpts{corrupt: replaceObj(2, 1, 0x90, h("12"))}, err: []error{sm.ErrIssuerCert}, step: "issuer certificate"},
		{name: "unknown CA index", o: fakeOpts{corrupt: replaceObj(2, 1, 0x8F, h("81"))}, err: []error{sm.ErrIssuerCert, sm.ErrCAKeyNotFound}, step: "issuer certificate"},
		{name: "no CA keys", opts: pboc.Options{CAKeys: sm.NewCAKeyTable()}, err: []error{sm.ErrIssuerCert, sm.ErrCAKeyNotFound}, step: "issuer certificate"},
		{name: "missing 8F", o: fakeOpts{corrupt: replaceObj(2, 1, 0x8F, nil)}, err: []error{pboc.ErrODAData}, step: "8F"},
		{name: "missing 90", o: fakeOpts{corrupt: replaceObj(2, 1, 0x90, nil)}, err: []error{pboc.ErrODAData}, step: "90"},
		{name: "missing 9F46", o: fakeOpts{corrupt: replaceObj(2, 2, 0x9F46, nil)}, err: []error{pboc.ErrODAData}, step: "9F46", issuer: true},
		{name: "missing 93 (SDA)", o: fakeOpts{aip: h("5C00"), corrupt: replaceObj(2, 2, 0x93, nil)}, err: []error{pboc.ErrODAData}, step: "93", issuer: true},
		{name: "ICC cert signature", o: fakeOpts{corrupt: flip(2, 2, 0x9F46, 30)}, err: []error{sm.ErrICCCert, sm.ErrSM2Verify}, step: "ICC certificate", issuer: true},
		{name: "static data changed", o: fakeOpts{corrupt: replaceObj(1, 1, 0x5F20, []byte("LI/SI"))}, err: []error{sm.ErrICCCert, sm.ErrSM2Verify}, step: "ICC certificate", issuer: true},
		{name: "SSAD signature", o: fakeOpts{aip: h("5C00"), corrupt: flip(2, 2, 0x93, 10)}, err: []error{sm.ErrSDA, sm.ErrSM2Verify}, step: "signed static data", issuer: true},
		{name: "DDA signature", edit: badIntAuth, err: []error{sm.ErrDDA, sm.ErrSM2Verify}, step: "dynamic signature", issuer: true},
		{name: "DDA answer malformed", edit: func(f *fakeICC) {
			for _, a := range f.apps {
				a.intAuth = func([]byte) []byte { return h("9F4B00") }
			}
		}, err: []error{pboc.ErrODAData}, step: "INTERNAL AUTHENTICATE", issuer: true},
		{name: "DDA refused", edit: func(f *fakeICC) {
			for _, a := range f.apps {
				a.intAuth = nil
			}
		}, err: []error{apdu.ErrNotSupported}, step: "INTERNAL AUTHENTICATE", issuer: true},
		{name: "fDDA signature", o: fakeOpts{contactless: true}, opts: pboc.Options{Terminal: pboc.Terminal{Amount: 1}}, edit: func(f *fakeICC) {
			for _, a := range f.apps {
				good := a.gpo
				a.gpo = func(d []byte) []byte {
					d = slices.Clone(d)
					d[5] ^= 0x10 // the card signs another amount
					return good(d)
				}
			}
		}, err: []error{sm.ErrDDA, sm.ErrSM2Verify}, step: "fDDA: dynamic signature", issuer: true},
		{name: "not supported", o: fakeOpts{aip: h("1C00")}, err: []error{pboc.ErrODANotSupported}, step: "ODA"},
		{name: "SDA tag list other than 82", o: fakeOpts{corrupt: replaceObj(2, 2, 0x9F4A, h("5A"))}, err: []error{pboc.ErrODAData}, step: "9F4A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newFake(t, tc.o, tc.edit, tc.opts)
			r, err := s.Read(context.Background(), pboc.ReadOptions{ODA: true})
			for _, want := range tc.err {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.step) {
				t.Fatalf("err = %v, want it to name %q", err, tc.step)
			}
			if r == nil || r.ODA == nil {
				t.Fatalf("reading %v without ODA result", r)
			}
			if r.ODA.OK || r.ODA.Error != err.Error() || (r.ODA.IssuerCert != nil) != tc.issuer {
				t.Errorf("ODA result %+v", r.ODA)
			}
			if r.Account == nil {
				t.Errorf("reading has no account")
			}
		})
	}
}

// TestODAMethod runs ODA separately after Read, and checks DDA needs the
// application still selected.
func TestODAMethod(t *testing.T) {
	ctx := context.Background()
	s, _ := newFake(t, fakeOpts{}, nil, pboc.Options{})
	r, err := s.Read(ctx, pboc.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.ODA != nil {
		t.Fatal("ODA without asking")
	}
	res, err := s.ODA(ctx, r)
	if err != nil || !res.OK || res.Method != "DDA" || r.ODA != res {
		t.Fatalf("ODA %+v, %v", res, err)
	}
	// After another application was selected, DDA on r selects r's
	// application again (every transaction may have been preceded by
	// another program's SELECT).
	if _, err := s.Read(ctx, pboc.ReadOptions{AID: pboc.AIDECash()}); err != nil {
		t.Fatal(err)
	}
	res, err = s.ODA(ctx, r)
	if err != nil || !res.OK || res.Method != "DDA" {
		t.Fatalf("ODA on a deselected application: %+v, %v", res, err)
	}
	if _, err := s.ODA(ctx, &pboc.Reading{}); !errors.Is(err, pboc.ErrNotSelected) {
		t.Fatalf("ODA without reading: %v", err)
	}
}

func TestGetData(t *testing.T) {
	ctx := context.Background()
	t.Run("balance and counters", func(t *testing.T) {
		s, card := newFake(t, fakeOpts{}, nil, pboc.Options{})
		b, err := s.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.Balance != 50000 || b.Limit == nil || *b.Limit != 100000 || *b.SingleLimit != 20000 || *b.ResetThreshold != 10000 {
			t.Errorf("balance %+v", b)
		}
		c, err := s.Counters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if *c != (pboc.Counters{ATC: 0, LastOnlineATC: 0, PINTries: 3}) {
			t.Errorf("counters %+v", c)
		}
		if n := card.countPrefix("00A4"); n != 4 {
			t.Errorf("%d SELECTs (selection once, then the top candidate selected again in the second transaction)", n)
		}
		v, err := s.GetData(ctx, 0x9F79)
		if err != nil || !bytes.Equal(v, h("000000050000")) {
			t.Errorf("GetData 9F79 = %X, %v", v, err)
		}
		if _, err := s.GetData(ctx, 0x9F51); !errors.Is(err, apdu.ErrNotFound) || !strings.Contains(err.Error(), "GET DATA 9F51") {
			t.Errorf("GetData 9F51: %v", err)
		}
	})
	for _, tc := range []struct {
		name  string
		data  map[apdu.Tag][]byte
		check func(*testing.T, *pboc.Balance, *pboc.Counters, error, error)
	}{
		{"not available", map[apdu.Tag][]byte{0x9F77: nil, 0x9F78: nil, 0x9F6D: nil, 0x9F13: nil, 0x9F17: nil},
			func(t *testing.T, b *pboc.Balance, c *pboc.Counters, berr, cerr error) {
				if berr != nil || cerr != nil {
					t.Fatal(berr, cerr)
				}
				if b.Limit != nil || b.SingleLimit != nil || b.ResetThreshold != nil || c.LastOnlineATC != -1 || c.PINTries != -1 || c.ATC != 0 {
					t.Errorf("balance %+v counters %+v", b, c)
				}
			}},
		{"wrong tag", map[apdu.Tag][]byte{0x9F79: tlv(0x9F78, h("000000050000")), 0x9F17: tlv(0x9F36, h("03"))},
			func(t *testing.T, b *pboc.Balance, c *pboc.Counters, berr, cerr error) {
				if !errors.Is(berr, pboc.ErrMalformed) || !errors.Is(cerr, pboc.ErrMalformed) {
					t.Errorf("errors %v, %v", berr, cerr)
				}
			}},
		{"trailing garbage", map[apdu.Tag][]byte{0x9F79: h("9F7906000000050000 9F"), 0x9F17: h("9F170203")},
			func(t *testing.T, b *pboc.Balance, c *pboc.Counters, berr, cerr error) {
				if !errors.Is(berr, pboc.ErrMalformed) || !errors.Is(cerr, pboc.ErrMalformed) {
					t.Errorf("errors %v, %v", berr, cerr)
				}
			}},
		{"not BCD", map[apdu.Tag][]byte{0x9F79: tlv(0x9F79, h("00000005000A")), 0x9F13: tlv(0x9F13, h("00"))},
			func(t *testing.T, b *pboc.Balance, c *pboc.Counters, berr, cerr error) {
				if !errors.Is(berr, pboc.ErrMalformed) || !errors.Is(cerr, pboc.ErrMalformed) {
					t.Errorf("errors %v, %v", berr, cerr)
				}
			}},
		{"no balance", map[apdu.Tag][]byte{0x9F79: nil},
			func(t *testing.T, b *pboc.Balance, c *pboc.Counters, berr, cerr error) {
				if !errors.Is(berr, apdu.ErrNotFound) || b != nil || cerr != nil {
					t.Errorf("errors %v, %v", berr, cerr)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newFake(t, fakeOpts{}, func(f *fakeICC) {
				for _, a := range f.apps {
					for tag, v := range tc.data {
						if v == nil {
							delete(a.getData, tag)
						} else {
							a.getData[tag] = v
						}
					}
				}
			}, pboc.Options{})
			b, berr := s.Balance(ctx)
			c, cerr := s.Counters(ctx)
			tc.check(t, b, c, berr, cerr)
		})
	}
}

func TestLog(t *testing.T) {
	ctx := context.Background()
	s, card := newFake(t, fakeOpts{}, nil, pboc.Options{})
	recs, err := s.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Date != "2026-11-20" || recs[0].Amount != 1250 || recs[2].ATC != 1 || recs[1].Merchant != "YIYUAN" {
		t.Errorf("log %+v", recs)
	}
	if n := card.countPrefix("00B2"); n != 2+4 {
		t.Errorf("%d READ RECORDs (2 directory, 3 log + the 6A83)", n)
	}
	for _, tc := range []struct {
		name string
		edit func(*fakeICC)
		err  error
	}{
		{"no log entry", func(f *fakeICC) {
			for _, a := range f.apps {
				a.fci = tlv(0x6F, tlv(0x84, a.aid), tlv(0xA5, tlv(0x50, []byte("X")), tlv(0x9F38, fakePDOL)))
			}
		}, pboc.ErrMissingData},
		{"no format", func(f *fakeICC) {
			for _, a := range f.apps {
				delete(a.getData, 0x9F4F)
			}
		}, apdu.ErrNotFound},
		{"short record", func(f *fakeICC) {
			for _, a := range f.apps {
				a.records[[2]byte{11, 2}] = a.records[[2]byte{11, 2}][:44]
			}
		}, pboc.ErrMalformed},
		{"read error", func(f *fakeICC) {
			f.hook = func(cmd []byte) ([]byte, bool) {
				if cmd[1] == 0xB2 && cmd[2] == 2 && cmd[3] == 0x5C {
					return sw(apdu.SWSecurityStatus), true
				}
				return nil, false
			}
		}, apdu.ErrSecurityStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newFake(t, fakeOpts{}, tc.edit, pboc.Options{})
			recs, err := s.Log(ctx)
			if !errors.Is(err, tc.err) || recs != nil {
				t.Errorf("Log = %d records, %v; want %v", len(recs), err, tc.err)
			}
		})
	}
}

func TestInterfaceFromATR(t *testing.T) {
	for _, tc := range []struct {
		atr  []byte
		want pboc.Interface
	}{{contactATR, pboc.Contact}, {contactlessATR, pboc.Contactless}} {
		s := pboc.NewSession(&fakeCard{atr: tc.atr}, pboc.Options{})
		if s.Interface() != tc.want {
			t.Errorf("ATR %X: %v, want %v", tc.atr, s.Interface(), tc.want)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	s, card := newFake(t, fakeOpts{}, nil, pboc.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Read(ctx, pboc.ReadOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := len(card.sent()); n != 0 {
		t.Errorf("%d commands sent", n)
	}
}
