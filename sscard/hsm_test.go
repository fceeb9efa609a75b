package sscard

import (
	"context"
	"errors"
	"testing"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sim"
)

var gen3Want = BasicInfo{CardID: mustHex("411600D156000005005A3C9E17B2D40F"), Region: "411600", Version: "3.00", Generation: 3,
	IssueDate: "20240101", ExpiryDate: "20340101", CardNumber: "A12345678", SSN: "411602199001011232", Name: "张三"}

func TestReadWithSIMHSM(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			tc := openSim(t, "gen3", m.mode)
			info, err := ReadWithHSM(context.Background(), tc.sess, simHSM{}, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkInfo(t, info, &gen3Want)
			max := 14
			if m.mode == sim.Contact {
				max = 16
			}
			if n := tc.rec.count(); n > max {
				t.Errorf("%d APDUs (Open+HSM read), want <= %d", n, max)
			}
			t.Logf("gen3 %s with HSM: %d APDUs", m.name, tc.rec.count())
			// The iReadCardBas string with HSM is complete.
			s := FormatReadCardBas(info, TerminalInfo{TerminalNo: "411600000001", DeviceNo: "FFFFFFFFFFFFFF"})
			if want := "411600|411602199001011232|A12345678|411600D156000005005A3C9E17B2D40F|张三|" + info.ATRHistorical.String() + "|3.00|20240101|20340101|411600000001|FFFFFFFFFFFFFF|"; s != want {
				t.Errorf("FormatReadCardBas = %q\nwant %q", s, want)
			}
			// All fields too.
			all, err := ReadWithHSM(context.Background(), tc.sess, simHSM{}, ReadOptions{Fields: FieldsAll})
			if err != nil {
				t.Fatal(err)
			}
			if all.Birthplace != "411602" || all.BirthDate != "19900101" || all.Sex != "1" {
				t.Errorf("all: %+v", all)
			}
		})
	}
}

func TestHSMStep1Order(t *testing.T) {
	tc := openSimOpts(t, "gen3", sim.Contactless, Options{ATRHistorical: mustHex("008C544CB386844116005A3C9E")})
	req, err := tc.sess.BeginHSM(context.Background(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer req.Abort()
	st := req.Step1()
	if st.Region != "411600" || st.Algorithm != "03" || st.CardID.String() != gen3Want.CardID.String() || st.ATRHistorical.String() != "008C544CB386844116005A3C9E" {
		t.Errorf("step1 %v", st)
	}
	p, err := ParseStep1(st.String())
	if err != nil || p.String() != st.String() {
		t.Errorf("round trip %v %v", p, err)
	}
	// Another Read on the session is refused while the request is pending.
	if _, err := tc.sess.Read(context.Background(), ReadOptions{Fields: FieldsFree}); !errors.Is(err, ErrBusy) {
		t.Errorf("Read during HSM request: %v", err)
	}
}

func flip(t *testing.T, tc *testCard, which int) error {
	t.Helper()
	ctx := context.Background()
	req, err := tc.sess.BeginHSM(ctx, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans, err := simHSM{}.Authenticate(ctx, req.Step1())
	if err != nil {
		t.Fatal(err)
	}
	if which == 1 {
		ans.Result1[0] ^= 1
	} else {
		ans.Result2[0] ^= 1
	}
	info, err := req.Complete(ctx, ans)
	if info != nil {
		t.Errorf("info returned with error")
	}
	if _, err2 := req.Complete(ctx, ans); !errors.Is(err2, ErrRequestDone) {
		t.Errorf("second Complete: %v", err2)
	}
	return err
}

func TestHSMWrongResult1(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contact)
	err := flip(t, tc, 1)
	if !errors.Is(err, ErrCardNotGenuine) {
		t.Fatalf("err = %v", err)
	}
	for _, p := range []string{"0082", "00B20734", "00B20134", "00B20234"} {
		if tc.rec.sent(p) {
			t.Errorf("command %s sent after internal authentication failed", p)
		}
	}
}

func TestHSMWrongResult2(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contactless)
	err := flip(t, tc, 2)
	var ae *apdu.AuthError
	if !errors.As(err, &ae) || ae.Retries < 0 {
		t.Fatalf("err = %v, want *apdu.AuthError", err)
	}
	if tc.rec.sent("00B2073C") || tc.rec.sent("00B20134") {
		t.Error("protected records read after failed external authentication")
	}
}

func TestHSMAnswerMismatch(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contactless)
	ctx := context.Background()
	req, err := tc.sess.BeginHSM(ctx, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans, _ := simHSM{}.Authenticate(ctx, req.Step1())
	ans.Result1[15] ^= 1 // O1 differs from the request
	if _, err := req.Complete(ctx, ans); !errors.Is(err, ErrHSMAnswer) {
		t.Fatalf("err = %v", err)
	}
}

func TestHSMCardRemoved(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contact)
	ctx := context.Background()
	req, err := tc.sess.BeginHSM(ctx, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ans, _ := simHSM{}.Authenticate(ctx, req.Step1())
	if err := tc.backend.Remove("r"); err != nil {
		t.Fatal(err)
	}
	if _, err := req.Complete(ctx, ans); !errors.Is(err, reader.ErrCardRemoved) {
		t.Fatalf("err = %v, want ErrCardRemoved", err)
	}
}

func TestHSMAbortThenRead(t *testing.T) {
	tc := openSim(t, "gen3", sim.Contactless)
	ctx := context.Background()
	req, err := tc.sess.BeginHSM(ctx, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req.Abort()
	req.Abort()
	if _, err := req.Complete(ctx, Step2Input{}); !errors.Is(err, ErrRequestDone) {
		t.Errorf("Complete after Abort: %v", err)
	}
	if _, err := ReadWithHSM(ctx, tc.sess, simHSM{}, ReadOptions{}); err != nil {
		t.Fatal(err)
	}
}
