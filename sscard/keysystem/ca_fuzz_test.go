package keysystem_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

func caRequestSeed(f *testing.F) []byte {
	id := mustHex("411600D156000005005A3C9E17B2D40F")
	key, err := simkeys.CardSigningKey(id)
	if err != nil {
		f.Fatal(err)
	}
	b, err := keysystem.MarshalCARequest(sscard.CertRequest{CardID: id, SigningKey: &key.PublicKey, Holder: &sscard.BasicInfo{
		CardID: id, CardNumber: "A12345678", SSN: "411602199001011232", Name: "张三", IssueDate: "20240101", ExpiryDate: "20340101"}})
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzParseCARequest: never a panic; errors wrap ErrCARequest; an
// accepted request marshals back to one that parses equal; a truncated
// request is refused.
func FuzzParseCARequest(f *testing.F) {
	seed := caRequestSeed(f)
	f.Add(seed)
	f.Add(append(bytes.Clone(seed), []byte(" {}")...))
	f.Add(seed[:len(seed)-1])
	f.Add([]byte(`{"card_id":"00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := keysystem.ParseCARequest(b)
		if err != nil {
			if !errors.Is(err, keysystem.ErrCARequest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(req.CardID) != sm.CardIDSize || req.SigningKey == nil || req.Holder == nil {
			t.Fatalf("accepted incomplete request %+v", req)
		}
		out, err := keysystem.MarshalCARequest(req)
		if err != nil {
			t.Fatalf("marshal accepted request: %v", err)
		}
		again, err := keysystem.ParseCARequest(out)
		if err != nil || !reflect.DeepEqual(again.Holder, req.Holder) || !again.SigningKey.Equal(req.SigningKey) {
			t.Fatalf("round trip: %v", err)
		}
		if tb := bytes.TrimSpace(b); len(tb) > 0 {
			if _, err := keysystem.ParseCARequest(tb[:len(tb)-1]); err == nil && json.Valid(tb) {
				t.Fatal("truncated request accepted")
			}
		}
	})
}

// FuzzCAHandler drives the SIM CA's HTTP handler with any body: never a
// panic or a 5xx; a 200 is a JSON delivery that sscard parses; holder
// values of the request never appear in an error answer.
func FuzzCAHandler(f *testing.F) {
	seed := caRequestSeed(f)
	f.Add(seed, "application/json")
	f.Add(bytes.Replace(seed, []byte("20240101"), []byte("2024Q101"), 1), "application/json")
	f.Add(seed, "text/plain")
	h := keysystem.NewCAHandler(keysystem.SIMCA{})
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		r := httptest.NewRequest(http.MethodPost, "/ca", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case w.Code >= 500:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		case w.Code == http.StatusOK:
			if _, err := sscard.ParseCADeliveryJSON(w.Body.Bytes()); err != nil {
				t.Fatalf("200 with a delivery sscard refuses: %v", err)
			}
		default:
			var q keysystem.CARequest
			if json.Unmarshal(body, &q) == nil {
				for _, v := range []string{q.SSN, q.Name, q.CardNumber, q.IssueDate, q.ExpiryDate} {
					if len(v) >= 4 && strings.Contains(w.Body.String(), v) {
						t.Fatalf("error answer shows the request value %q: %s", v, w.Body)
					}
				}
			}
		}
	})
}
