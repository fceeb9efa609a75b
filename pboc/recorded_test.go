package pboc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sscard/ssc/pboc"
	"github.com/sscard/ssc/reader"
)

// replayCard answers the commands of a recorded card session
// (testdata/recorded/*.trace): each recorded command gets its recorded
// response, in any order and as often as asked (a terminal may select an
// application twice); a SELECT by name that was not recorded gets 6A82,
// as the recorded cards answer for an application they lack; any other
// command fails the test. Commands are compared without their Le byte.
type replayCard struct {
	t    testing.TB
	mu   sync.Mutex
	resp map[string][]byte
	sent [][]byte
}

func loadTrace(t testing.TB, name string) *replayCard {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "recorded", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := &replayCard{t: t, resp: map[string][]byte{}}
	var cmd []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "> "):
			cmd = h(line[2:])
		case strings.HasPrefix(line, "< ") && cmd != nil:
			c.resp[commandKey(cmd)] = h(line[2:])
			cmd = nil
		default:
			t.Fatalf("%s: bad line %q", name, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

// commandKey is the command without a trailing Le (case 2/4 short APDUs).
func commandKey(cmd []byte) string {
	if len(cmd) > 5 && int(cmd[4]) == len(cmd)-6 {
		cmd = cmd[:len(cmd)-1]
	}
	return strings.ToUpper(string(hexString(cmd)))
}

func hexString(b []byte) []byte {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return out
}

func (c *replayCard) Transmit(_ context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, slices.Clone(cmd))
	if r, ok := c.resp[commandKey(cmd)]; ok {
		return slices.Clone(r), nil
	}
	if len(cmd) >= 5 && cmd[0] == 0x00 && cmd[1] == 0xA4 && cmd[2] == 0x04 {
		return h("6A82"), nil
	}
	c.t.Errorf("replay: command %X was not recorded", cmd)
	return h("6D00"), nil
}
func (c *replayCard) Reader() string                          { return "replay" }
func (c *replayCard) ATR() []byte                             { return contactlessATR }
func (c *replayCard) Protocol() reader.Protocol               { return reader.T1 }
func (c *replayCard) BeginTransaction(context.Context) error  { return nil }
func (c *replayCard) EndTransaction(reader.Disposition) error { return nil }
func (c *replayCard) Reset(context.Context, bool) error       { return nil }
func (c *replayCard) Close() error                            { return nil }

func aidsOf(es []pboc.DirectoryEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.AID.String())
	}
	return out
}

// Recorded sessions of real Visa and Mastercard cards: the default
// terminal list selects them through the PPSE; a UnionPay-only terminal
// (an AID list file) refuses them with an error naming the card's
// applications.
func TestRecordedCards(t *testing.T) {
	unionPayOnly, err := pboc.LoadAIDList(filepath.Join("testdata", "unionpay-only.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		trace   string
		aid     string
		label   string // of the selected application's FCI
		message string // in the UnionPay-only error
	}{
		{"visa-debit-lloyds.trace", "A0000000031010", "VISA DEBIT", "A0000000031010 (Visa)"},
		{"mastercard-debit.trace", "A0000000041010", "Debit MasterCard", "A0000000041010 (Debit MasterCard)"},
		{"visa-debit-ppse.trace", "", "", "A0000000031010 (VISA DEBIT)"},
	} {
		t.Run(tc.trace, func(t *testing.T) {
			ctx := context.Background()
			if tc.aid != "" {
				card := loadTrace(t, tc.trace)
				list, err := pboc.NewSession(card, pboc.Options{Interface: pboc.Contactless}).Applications(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if list.Method != pboc.MethodPPSE || len(list.Candidates) != 1 || list.Candidates[0].AID.String() != tc.aid ||
					strings.TrimSpace(list.Candidates[0].FCI.Label) != tc.label || len(list.Unsupported) != 0 ||
					!slices.Equal(aidsOf(list.Directory), []string{tc.aid}) {
					t.Fatalf("default list: %+v", list)
				}
			}

			card := loadTrace(t, tc.trace)
			list, err := pboc.NewSession(card, pboc.Options{Interface: pboc.Contactless, AIDs: unionPayOnly}).Applications(ctx)
			var ue *pboc.UnsupportedError
			if !errors.Is(err, pboc.ErrNoApplication) || !errors.As(err, &ue) {
				t.Fatalf("UnionPay-only terminal: %v", err)
			}
			if !strings.Contains(err.Error(), tc.message) || len(ue.Apps) != 1 {
				t.Fatalf("error %q does not name %s", err, tc.message)
			}
			app := tc.message[:14]
			if list == nil || list.Method != pboc.MethodAIDList || !slices.Equal(aidsOf(list.Unsupported), []string{app}) ||
				ue.Apps[0].AID.String() != app {
				t.Fatalf("list %+v", list)
			}
			// The terminal tried its own list after the directory: one
			// SELECT per UnionPay AID, none for the card's application.
			var selects int
			for _, c := range card.sent {
				if bytes.HasPrefix(c, h("00A40400")) || bytes.HasPrefix(c, h("00A40402")) {
					selects++
				}
			}
			if selects < 1+len(unionPayOnly) {
				t.Fatalf("%d SELECTs: %X", selects, card.sent)
			}
		})
	}
}

// The AID list file format: YAML or JSON, strict.
func TestParseAIDList(t *testing.T) {
	l, err := pboc.ParseAIDList([]byte(`{"aids":[{"aid":"A0000000031010","name":"Visa","partial":true},{"aid":"a000000333010106","partial":false}]}`))
	if err != nil || len(l) != 2 || !l[0].Partial || l[1].Partial || l[0].Name != "Visa" || !bytes.Equal(l[1].AID, pboc.AIDECash()) {
		t.Fatalf("JSON: %+v %v", l, err)
	}
	data, err := pboc.MarshalAIDList(pboc.DefaultAIDs())
	if err != nil {
		t.Fatal(err)
	}
	back, err := pboc.ParseAIDList(data)
	if err != nil || len(back) != len(pboc.DefaultAIDs()) {
		t.Fatalf("round trip: %v\n%s", err, data)
	}
	for i, a := range pboc.DefaultAIDs() {
		if !bytes.Equal(back[i].AID, a.AID) || back[i].Partial != a.Partial || back[i].Name != a.Name {
			t.Fatalf("round trip entry %d: %+v != %+v", i, back[i], a)
		}
	}
	for name, bad := range map[string]string{
		"empty":            "",
		"no entries":       "aids: []",
		"unknown key":      "aids:\n  - aid: A0000000031010\n    partial: true\n    asi: 0\n",
		"no partial":       "aids:\n  - aid: A0000000031010\n",
		"short AID":        "aids:\n  - aid: A000000003\n    partial: true\n  - aid: A0000000\n    partial: true\n",
		"long AID":         "aids:\n  - aid: A0000000031010A0000000031010A0000000\n    partial: true\n",
		"not hex":          "aids:\n  - aid: VISA\n    partial: true\n",
		"duplicate":        "aids:\n  - aid: A0000000031010\n    partial: true\n  - aid: a0000000031010\n    partial: false\n",
		"two documents":    "aids:\n  - aid: A0000000031010\n    partial: true\n---\naids: []\n",
		"not a list":       "aids: A0000000031010",
		"top-level list":   "- aid: A0000000031010\n  partial: true\n",
		"too many":         "aids:\n" + strings.Repeat("  - aid: A0000000031010\n    partial: true\n", 65),
		"binary":           "\x00\x01\x02",
		"oversized":        strings.Repeat("#", pboc.MaxAIDListSize+1),
		"name too long":    "aids:\n  - aid: A0000000031010\n    partial: true\n    name: " + strings.Repeat("x", 65) + "\n",
		"partial not bool": "aids:\n  - aid: A0000000031010\n    partial: maybe\n",
	} {
		if _, err := pboc.ParseAIDList([]byte(bad)); !errors.Is(err, pboc.ErrAIDList) {
			t.Errorf("%s: %v, want ErrAIDList", name, err)
		}
	}
	if _, err := pboc.LoadAIDList(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, pboc.ErrAIDList) {
		t.Errorf("missing file: %v", err)
	}
}

// Partial matching per the ASI: an extension of a partial entry matches,
// of an exact one does not; a shorter AID never matches.
func TestSupports(t *testing.T) {
	l := []pboc.TerminalAID{{AID: h("A0000000031010"), Partial: true}, {AID: pboc.AIDECash()}}
	for aid, want := range map[string]bool{
		"A0000000031010":     true,
		"A000000003101001":   true,
		"A00000000310":       false,
		"A000000333010106":   true,
		"A00000033301010601": false,
		"A0000000041010":     false,
	} {
		if _, got := pboc.Supports(l, h(aid)); got != want {
			t.Errorf("Supports(%s) = %v, want %v", aid, got, want)
		}
	}
}
