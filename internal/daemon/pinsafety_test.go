package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sscard/ssc/internal/hostile"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/reader/pcsc"
	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// pinSpy counts the PIN-bearing commands a card receives: VERIFY with
// data (SSSE and PKI), CHANGE REFERENCE DATA.
type pinSpy struct {
	sim.Chip
	presented atomic.Int32
}

func (c *pinSpy) Transmit(cmd []byte) []byte {
	if len(cmd) > 5 && (cmd[1] == 0x20 || cmd[1] == 0x24) {
		c.presented.Add(1)
	}
	return c.Chip.Transmit(cmd)
}

// pkiTries reads the PKI PIN's try counter of the card in a PC/SC reader
// directly (no try spent), while the daemon is idle.
func pkiTries(t *testing.T, name string) int {
	t.Helper()
	sys := reader.Open(pcsc.New())
	defer sys.Close()
	ctx := ctxT(t)
	// Shared: the daemon's watcher may be probing the card right now; the
	// session's transaction keeps the reads atomic.
	// The daemon's probe of a new insertion holds the card exclusively for
	// a moment: retry the sharing violation (bounded).
	var card reader.Card
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		card, err = sys.Connect(ctx, name, reader.ConnectOptions{})
		if err == nil || !errors.Is(err, reader.ErrSharingViolation) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer card.Close()
	s, err := sscard.Open(ctx, card, sscard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.PKI().PINStatus(ctx)
	if err != nil {
		t.Fatalf("PKI PIN status: %v", err)
	}
	return n
}

// TestE2EPINChangeLastTry is defect 1 of issue 18: with one try left,
// pin/change with a wrong old PIN used to go straight to pin_blocked. It
// must answer pin_last_try without sending the PINs, leave the card at one
// try, and spend the try only with force.
func TestE2EPINChangeLastTry(t *testing.T) {
	spy := &pinSpy{Chip: newCard(t, "gen3", nil)}
	e := pcscDaemon(t, Config{HSM: "sim"}, spy)
	r := e.names[0]
	ctx := ctxT(t)
	for want := 2; want >= 1; want-- {
		_, err := e.c.VerifyPIN(ctx, r, sscd.VerifyPINRequest{PIN: "000000"}, sscd.CardOptions{})
		wantCode(t, err, sscd.CodeWrongPIN)
	}
	if st, err := e.c.PINStatus(ctx, r, sscd.CardOptions{}); err != nil || st.TriesLeft != 1 {
		t.Fatalf("PIN status %+v, %v: want 1 try left", st, err)
	}
	before := spy.presented.Load()
	_, err := e.c.ChangePIN(ctx, r, sscd.ChangePINRequest{Old: "000000", New: "112233"}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINLastTry)
	if n := spy.presented.Load() - before; n != 0 {
		t.Fatalf("%d PIN commands reached the card with one try left and no force", n)
	}
	if st, err := e.c.PINStatus(ctx, r, sscd.CardOptions{}); err != nil || st.TriesLeft != 1 {
		t.Fatalf("after the refusal: %+v, %v: want 1 try left", st, err)
	}
	// A malformed new PIN is refused before the card (no try spent).
	_, err = e.c.ChangePIN(ctx, r, sscd.ChangePINRequest{Old: "123456", New: "12345x", Force: true}, sscd.CardOptions{})
	wantCode(t, err, sscd.CodePINFormat)
	// The right old PIN with force: changed, counter back to 3.
	if _, err := e.c.ChangePIN(ctx, r, sscd.ChangePINRequest{Old: "123456", New: "112233", Force: true}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, err := e.c.PINStatus(ctx, r, sscd.CardOptions{}); err != nil || st.TriesLeft != 3 {
		t.Fatalf("after the change: %+v, %v", st, err)
	}
	if _, err := e.c.VerifyPIN(ctx, r, sscd.VerifyPINRequest{PIN: "112233"}, sscd.CardOptions{}); err != nil {
		t.Fatal(err)
	}
}

// bridgeLinker posts link requests to a bridge listener as a local
// process does: any Origin header it likes.
type bridgeLinker struct {
	t      *testing.T
	url    string
	origin string
	cl     *http.Client
}

func (b bridgeLinker) link(reader, pin string, force bool) (int, *sscd.Error, http.Header) {
	b.t.Helper()
	body, _ := json.Marshal(sscd.BridgeLinkRequest{Level: 1, Nonce: testNonce(0x5A), PIN: pin, Force: force})
	req, err := http.NewRequestWithContext(ctxT(b.t), "POST", b.url+"/v1/readers/"+reader+"/link", strings.NewReader(string(body)))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Origin", b.origin) // forged: no browser involved
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.cl.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var env sscd.Envelope
	if resp.StatusCode != 200 {
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || env.Error == nil {
			b.t.Fatalf("status %d: not an error envelope (%v)", resp.StatusCode, err)
		}
	}
	return resp.StatusCode, env.Error, resp.Header
}

// serveBridge serves e's daemon's bridge on a real loopback listener.
func serveBridge(t *testing.T, d *Daemon, port int) string {
	t.Helper()
	ls, err := ListenBridge(port)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.ServeBridge(ls) }()
	t.Cleanup(func() {
		// testDaemon's cleanup (registered earlier, run later) shuts the
		// bridge down; closing the listeners here ends ServeBridge first.
		for _, l := range ls {
			l.Close()
		}
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("ServeBridge did not return")
		}
	})
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// TestE2EBridgePKIPIN is defect 2 of issue 18: four POST /link on the
// bridge with a forged Origin and a wrong PKI PIN used to block the PKI
// PIN (63C2, 63C1, 63C0, 6983). Through pcscd + vpcd and a real loopback
// listener:
//   - without bridge.pin_origins no PIN reaches the card at all;
//   - with it, the last try is refused (pin_last_try) and the counter
//     stays at 1;
//   - the rate limit (here 1 wrong attempt per insertion) stops the next
//     attempts with pin_rate_limited and Retry-After, for the socket's
//     callers too, without a try spent;
//   - force is refused on the bridge (bad_request) with no PIN sent to the
//     card: only a socket client may spend the last try.
func TestE2EBridgePKIPIN(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pin   bool // the origin in bridge.pin_origins
		limit int
		force bool
	}{
		{"no pin_origins", false, 0, false},
		{"last try", true, 0, false},
		{"rate limit", true, 1, false},
		{"force", true, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spy := &pinSpy{Chip: newCard(t, "gen3", nil)}
			port := freePort(t)
			cfg := Config{HSM: "sim", PINLimit: PINLimitConfig{Attempts: tc.limit},
				Bridge: BridgeConfig{Port: port, Origins: []string{testOrigin}}}
			if tc.pin {
				cfg.Bridge.PINOrigins = []string{testOrigin}
			}
			e := pcscDaemon(t, cfg, spy)
			r := e.names[0]
			b := bridgeLinker{t: t, url: serveBridge(t, e.d, port), origin: testOrigin, cl: &http.Client{Timeout: 30 * time.Second}}
			path := strings.ReplaceAll(r, " ", "%20")
			var got []string
			var retry []string
			for range 4 {
				status, apiErr, h := b.link(path, "000000", tc.force)
				if apiErr == nil {
					t.Fatalf("link with a wrong PIN: %d", status)
				}
				if tc.force && !strings.Contains(apiErr.Message, "force is not accepted on the bridge") {
					t.Errorf("force refused with %q", apiErr.Message)
				}
				got = append(got, string(apiErr.Code))
				retry = append(retry, h.Get("Retry-After"))
			}
			var want []string
			switch tc.name {
			case "no pin_origins":
				want = []string{"origin_not_allowed", "origin_not_allowed", "origin_not_allowed", "origin_not_allowed"}
			case "last try":
				want = []string{"wrong_pin", "wrong_pin", "pin_last_try", "pin_last_try"}
			case "rate limit":
				want = []string{"wrong_pin", "pin_rate_limited", "pin_rate_limited", "pin_rate_limited"}
			case "force":
				want = []string{"bad_request", "bad_request", "bad_request", "bad_request"}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("codes %v, want %v", got, want)
			}
			wantTries := map[string]int{"no pin_origins": 3, "last try": 1, "rate limit": 2, "force": 3}[tc.name]
			if n := pkiTries(t, r); n != wantTries {
				t.Fatalf("PKI PIN: %d tries left, want %d", n, wantTries)
			}
			wantPresented := map[string]int32{"no pin_origins": 0, "last try": 2, "rate limit": 1, "force": 0}[tc.name]
			if n := spy.presented.Load(); n != wantPresented {
				t.Errorf("%d PIN commands reached the card, want %d", n, wantPresented)
			}
			if tc.name == "rate limit" {
				if s, err := strconv.Atoi(retry[1]); err != nil || s < 1 || s > 600 {
					t.Errorf("Retry-After %q", retry[1])
				}
				// The limit is the card's, whoever asks: the socket too.
				_, err := e.c.VerifyPIN(ctxT(t), r, sscd.VerifyPINRequest{PIN: "123456", Force: true}, sscd.CardOptions{})
				wantCode(t, err, sscd.CodePINRateLimited)
				var se *sscd.Error
				if !errors.As(err, &se) || se.RetryAfter < 1 {
					t.Errorf("socket: %v: no retry_after", err)
				}
				if n := spy.presented.Load(); n != wantPresented {
					t.Errorf("rate limited, yet %d PIN commands reached the card", n-wantPresented)
				}
				// A new insertion of the card starts afresh.
				e.removes[0]()
				waitReader(t, e.c, r, func(x sscd.Reader, _ bool) bool { return !x.CardPresent })
				_, e.removes[0] = e.env.Insert(t, 0, spy)
				waitReader(t, e.c, r, func(x sscd.Reader, _ bool) bool { return x.CardPresent })
				if _, err := e.c.VerifyPIN(ctxT(t), r, sscd.VerifyPINRequest{PIN: "123456"}, sscd.CardOptions{}); err != nil {
					t.Errorf("after reinsertion: %v", err)
				}
			}
			hostile.Record(t, "bridge", "POST /link with a forged Origin and a wrong PKI PIN (without pin_origins, at the last try, past the rate limit, with force): the PKI PIN never blocked", map[string]int{"requests": 4})
		})
	}
}
