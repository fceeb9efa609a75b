package keysystem_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// checkChains checks that both certificates on the card verify to roots.
func checkChains(t *testing.T, s *sscard.Session, roots *sm.CertPool) {
	t.Helper()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := s.PKI()
	if c, err := p.VerifyChain(context.Background(), roots, at); err != nil || c[0].Subject.CommonName != "王五" {
		t.Errorf("signing chain: %v", err)
	}
	if c, err := p.VerifyEncryptionChain(context.Background(), roots, at); err != nil || c[0].Subject.CommonName != "王五" {
		t.Errorf("encryption chain: %v", err)
	}
}

// simCAServer serves keysystem.SIMCA with the SIM CA protocol; wrap, when set,
// replaces the handler.
func simCAServer(t *testing.T, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	var h http.Handler = keysystem.NewCAHandler(keysystem.SIMCA{})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPCAPersonalise(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got keysystem.CARequest
	srv := simCAServer(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var buf bytes.Buffer
			r.Body = readTee(r, &buf)
			next.ServeHTTP(w, r)
			mu.Lock()
			defer mu.Unlock()
			json.Unmarshal(buf.Bytes(), &got)
		})
	})
	s, cardID := issuedBlankSession(t)
	roots, _ := simkeys.RootPool()
	in := sscard.PersonaliseInput{AdminPIN: simkeys.PKIAdminPIN(cardID), MasterKey: simkeys.PKIMasterKey(cardID),
		CA: keysystem.HTTPCA{URL: srv.URL}, Roots: roots, HSM: keysystem.SIM{}}
	rep, err := sscard.PersonalisePKI(ctx, s, in)
	if err != nil {
		t.Fatal(err)
	}
	checkChains(t, s, roots)
	mu.Lock()
	if got.CardID != "411600D156000005005A3C9E17B2D40F" || got.CardNumber != "B87654321" || got.SSN != "110101198512120035" ||
		got.Name != "王五" || got.IssueDate != "20261201" || got.ExpiryDate != "20361201" || got.SigningPublicKey != "04"+rep.PublicKey {
		t.Errorf("CA request %+v", got)
	}
	mu.Unlock()
}

func readTee(r *http.Request, buf *bytes.Buffer) *teeBody {
	return &teeBody{r: r.Body, buf: buf}
}

type teeBody struct {
	r interface {
		Read([]byte) (int, error)
		Close() error
	}
	buf *bytes.Buffer
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.buf.Write(p[:n])
	return n, err
}
func (b *teeBody) Close() error { return b.r.Close() }

func TestHTTPCAErrors(t *testing.T) {
	ctx := context.Background()
	cardID := mustHex("411600D156000005005A3C9E17B2D40F")
	sign, _ := simkeys.CardSigningKey(cardID)
	req := sscard.CertRequest{CardID: cardID, SigningKey: &sign.PublicKey, Holder: &sscard.BasicInfo{
		CardID: cardID, CardNumber: "B87654321", SSN: "110101198512120035", Name: "王五", IssueDate: "20261201", ExpiryDate: "20361201"}}
	good, err := keysystem.SIMCA{}.Issue(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	goodJSON, _ := json.Marshal(good)
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		check   func(error) bool
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "CA down", 500) }, func(err error) bool {
			var ce *keysystem.CAError
			return errors.As(err, &ce) && ce.StatusCode == 500 && ce.Message == "CA down" && errors.Is(err, sscard.ErrCA)
		}},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write(goodJSON) }, func(err error) bool { return errors.Is(err, sscard.ErrCA) }},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(bytes.Repeat([]byte(" "), 70<<10))
		}, func(err error) bool { return errors.Is(err, sscard.ErrCA) && strings.Contains(err.Error(), "longer") }},
		{"bad JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"QMZS":`))
		}, func(err error) bool { return errors.Is(err, sscard.ErrCADelivery) }},
		{"bad blob", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			bad := *good
			bad.EnvelopedKey = bad.EnvelopedKey[:387]
			b, _ := json.Marshal(bad)
			w.Write(b)
		}, func(err error) bool {
			var de *sscard.CADeliveryError
			return errors.As(err, &de) && de.Field == "JMMY" && errors.Is(err, sm.ErrEnvelopedKey)
		}},
		{"SIMCA refuses", keysystem.NewCAHandler(keysystem.SIMCA{}).ServeHTTP, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			r := req
			if c.check == nil { // a request the SIM CA refuses: no holder name
				h := *req.Holder
				h.Name = ""
				r.Holder = &h
				c.check = func(err error) bool {
					var ce *keysystem.CAError
					return errors.As(err, &ce) && ce.StatusCode == 422 && strings.Contains(ce.Message, "not issued")
				}
			}
			d, err := keysystem.HTTPCA{URL: srv.URL}.Issue(ctx, r)
			if err == nil || !c.check(err) {
				t.Fatalf("delivery %v, err %v", d != nil, err)
			}
		})
	}
	// The handler's refusals.
	srv := httptest.NewServer(keysystem.NewCAHandler(keysystem.SIMCA{}))
	defer srv.Close()
	for _, c := range []struct {
		method, ctype, body string
		want                int
	}{
		{"GET", "", "", 405},
		{"POST", "text/plain", "{}", 415},
		{"POST", "application/json", strings.Repeat(" ", 5000), 413},
		{"POST", "application/json", `{"card_id":"00"}`, 400},
		{"POST", "application/json", `{"bogus":1}`, 400},
	} {
		r, _ := http.NewRequest(c.method, srv.URL, strings.NewReader(c.body))
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s %.20q: %d, want %d", c.method, c.ctype, c.body, resp.StatusCode, c.want)
		}
	}
}
