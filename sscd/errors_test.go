package sscd

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestErrorIs(t *testing.T) {
	for code, sentinel := range sentinels {
		e := &Error{Code: code, Message: "m"}
		wrapped := fmt.Errorf("op: %w", e)
		if !errors.Is(wrapped, sentinel) {
			t.Errorf("%s does not match its sentinel", code)
		}
		if code != CodeInternal && errors.Is(wrapped, ErrInternal) {
			t.Errorf("%s matches ErrInternal", code)
		}
		if code.HTTPStatus() < 400 {
			t.Errorf("%s: HTTP status %d", code, code.HTTPStatus())
		}
	}
	if !errors.Is(&Error{Code: "from_the_future"}, ErrInternal) {
		t.Error("an unknown code does not match ErrInternal")
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   Code
		sw     string
	}{
		{"envelope", 409, `{"error":{"code":"card_changed","message":"x"}}`, CodeCardChanged, ""},
		{"with sw", 422, `{"error":{"code":"wrong_pin","message":"x","sw":"63C2"}}`, CodeWrongPIN, "63C2"},
		{"not JSON", 502, `<html>bad gateway</html>`, CodeInternal, ""},
		{"no code", 400, `{"error":{}}`, CodeInternal, ""},
		{"empty", 500, ``, CodeInternal, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeError(tt.status, []byte(tt.body))
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || e.SW != tt.sw || e.Status != tt.status {
				t.Errorf("got %#v", err)
			}
			if !IsCode(err, tt.code) {
				t.Errorf("IsCode(%v, %s) false", err, tt.code)
			}
		})
	}
}

func TestDialNoDaemon(t *testing.T) {
	c := Dial(filepath.Join(t.TempDir(), "none.sock"))
	defer c.Close()
	_, err := c.Health(t.Context())
	var ne *net.OpError
	if !errors.As(err, &ne) {
		t.Errorf("health without a daemon: %v", err)
	}
}

// TestClientRequests checks what the client sends: paths with escaped
// reader names, the insertion query, JSON bodies.
func TestClientRequests(t *testing.T) {
	dir, err := os.MkdirTemp("", "sscd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.RequestURI()
		w.Write([]byte(`{"tries_left":3}`))
	})}
	go srv.Serve(l)
	defer srv.Close()
	c := Dial(sock)
	defer c.Close()
	st, err := c.PINStatus(t.Context(), "Virtual PCD 00/01", CardOptions{Insertion: 7})
	if err != nil || st.TriesLeft != 3 {
		t.Fatalf("%+v, %v", st, err)
	}
	if want := "GET /v1/readers/Virtual%20PCD%2000%2F01/pin?insertion=7"; <-got != want {
		t.Errorf("request, want %q", want)
	}
}
