package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

const issueTestWriteInfo = "411600D156000005005A3C9E17B2D40F|411600000000000000000001|20261201|20361201|B87654321|110101198512120035|王五||1|01|19851212|"

// TestIssueHTTPKeySystem: `sscctl issue --hsm URL` uses one HTTP key system
// for the read key (8-field Step-1) and the write key (6-field request).
func TestIssueHTTPKeySystem(t *testing.T) {
	var reads, writes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Count(string(b), "|") == 6 {
			req, err := sscard.ParseWriteKeyRequest(string(b))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			writes.Add(1)
			a, _ := keysystem.SIM{}.AuthorizeWrite(r.Context(), req)
			io.WriteString(w, a.String()+"\n")
			return
		}
		st, err := sscard.ParseStep1(string(b))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reads.Add(1)
		a, _ := keysystem.SIM{}.Authenticate(r.Context(), st)
		io.WriteString(w, a.String()+"\n")
	}))
	defer srv.Close()
	var out, errb strings.Builder
	args := []string{"--reader", "sim", "--sim-profile", "gen3-blank", "issue", "--write-info", issueTestWriteInfo, "--hsm", srv.URL}
	if c := runSimOnly(t, args, strings.NewReader(""), &out, &errb); c != 0 {
		t.Fatalf("exit %d: %s", c, errb.String())
	}
	if !strings.Contains(out.String(), "issued: wrote ssn") || reads.Load() != 1 || writes.Load() != 1 {
		t.Errorf("output %q; %d reads, %d writes", out.String(), reads.Load(), writes.Load())
	}
}
