package keysystem_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

func TestHTTP(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		st, err := sscard.ParseStep1(got)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ans, err := keysystem.SIM{}.Authenticate(r.Context(), st)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, ans.String()+"\r\n")
	}))
	defer srv.Close()
	s := openSession(t, "gen3")
	info, err := sscard.ReadWithHSM(context.Background(), s, keysystem.HTTP{URL: srv.URL, Client: srv.Client()}, sscard.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "张三" || info.SSN != "411602199001011232" || len(info.Unavailable) != 0 {
		t.Errorf("info %+v", info)
	}
	if !strings.HasPrefix(got, "411600|") || strings.Count(got, "|") != 8 {
		t.Errorf("request body %q", got)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "key system down", http.StatusBadGateway)
	}))
	defer bad.Close()
	if _, err := sscard.ReadWithHSM(context.Background(), s, keysystem.HTTP{URL: bad.URL}, sscard.ReadOptions{}); !errors.Is(err, sscard.ErrHSM) {
		t.Errorf("err = %v", err)
	}
	// The aborted request left the session usable.
	if _, err := sscard.ReadWithHSM(context.Background(), s, keysystem.SIM{}, sscard.ReadOptions{}); err != nil {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (keysystem.HTTP{URL: srv.URL}).Authenticate(ctx, sscard.Step1{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestHTTPWriteKey: one HTTP key system for both keys, told apart by the
// field count, and a separate write URL.
func TestHTTPWriteKey(t *testing.T) {
	var reads, writes atomic.Int32
	handler := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			http.Error(w, "content type "+ct, http.StatusBadRequest)
			return
		}
		var line string
		if strings.Count(string(b), "|") == 6 {
			writes.Add(1)
			req, err := sscard.ParseWriteKeyRequest(string(b))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			a, _ := keysystem.SIM{}.AuthorizeWrite(r.Context(), req)
			line = strings.ToLower(a.String())
		} else {
			reads.Add(1)
			st, err := sscard.ParseStep1(string(b))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			a, _ := keysystem.SIM{}.Authenticate(r.Context(), st)
			line = a.String()
		}
		io.WriteString(w, line+"\r\nignored\n")
	}
	srv := httptest.NewServer(http.HandlerFunc(handler))
	defer srv.Close()
	wsrv := httptest.NewServer(http.HandlerFunc(handler))
	defer wsrv.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "write key unavailable", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	ctx := context.Background()
	w := testWriteInfo(t)
	s := openSession(t, "gen3-blank")
	h := keysystem.HTTP{URL: srv.URL}
	if _, err := sscard.Issue(ctx, s, w, sscard.IssueOptions{HSM: h, WriteKey: h}); err != nil {
		t.Fatal(err)
	}
	if reads.Load() != 1 || writes.Load() != 1 {
		t.Errorf("%d reads, %d writes", reads.Load(), writes.Load())
	}
	h.WriteURL = wsrv.URL
	if _, err := sscard.Issue(ctx, s, w, sscard.IssueOptions{HSM: h, WriteKey: h}); err != nil {
		t.Fatal(err)
	}
	h.WriteURL = down.URL
	_, err := sscard.Issue(ctx, s, w, sscard.IssueOptions{HSM: h, WriteKey: h})
	var ie *sscard.IssueError
	if !errors.Is(err, sscard.ErrHSM) || !errors.As(err, &ie) || ie.Step != sscard.StepAuth || !strings.Contains(err.Error(), "write key unavailable") {
		t.Fatalf("write key down: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (keysystem.HTTP{URL: srv.URL}).AuthorizeWrite(cctx, sscard.WriteKeyRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
