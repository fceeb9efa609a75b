package stack

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

func TestParseHSM(t *testing.T) {
	for _, c := range []struct {
		spec, write string
		want        sscard.HSM
		err         error
	}{
		{"", "", nil, nil},
		{"none", "", nil, nil},
		{"sim", "", keysystem.SIM{}, nil},
		{"https://hsm.example/step", "", keysystem.HTTP{URL: "https://hsm.example/step"}, nil},
		{"http://127.0.0.1:8080/", "https://hsm.example/write", keysystem.HTTP{URL: "http://127.0.0.1:8080/", WriteURL: "https://hsm.example/write"}, nil},
		{"nowhere", "", nil, ErrSpec},
		{"ftp://x", "", nil, ErrSpec},
		{"http://", "", nil, ErrSpec}, // no host
		{"sim", "https://hsm.example/write", nil, ErrWriteURL},
		{"", "https://hsm.example/write", nil, ErrWriteURL},
		{"https://hsm.example/read", "file:///x", nil, ErrWriteURL},
	} {
		got, err := ParseHSM(c.spec, c.write)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("ParseHSM(%q, %q) = %#v, %v; want %#v, %v", c.spec, c.write, got, err, c.want, c.err)
		}
	}
	if _, err := ParseHSM("nowhere", ""); err == nil || err.Error() != `must be sim or an http(s) URL, not "nowhere"` {
		t.Errorf("message: %v", err)
	}
}

func TestWriteKey(t *testing.T) {
	for _, h := range []sscard.HSM{keysystem.SIM{}, keysystem.HTTP{URL: "https://hsm.example/"}} {
		if wk, err := WriteKey(h); err != nil || wk == nil {
			t.Errorf("%T: %v", h, err)
		}
	}
	if _, err := WriteKey(nil); !errors.Is(err, ErrNoWriteKey) {
		t.Errorf("nil: %v", err)
	}
}

func TestParseCA(t *testing.T) {
	if ca, err := ParseCA(""); ca != nil || err != nil {
		t.Errorf(`"": %v %v`, ca, err)
	}
	if ca, err := ParseCA("sim"); ca != (keysystem.SIMCA{}) || err != nil {
		t.Errorf("sim: %v %v", ca, err)
	}
	ca, err := ParseCA("https://ca.example/x")
	h, ok := ca.(keysystem.HTTPCA)
	if err != nil || !ok || h.URL != "https://ca.example/x" || h.Client == nil || h.Client.Timeout != caTimeout {
		t.Errorf("URL: %#v %v", ca, err)
	}
	for _, bad := range []string{"ldap://ca", "http://", "none", "https://"} {
		if _, err := ParseCA(bad); !errors.Is(err, ErrSpec) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestReadDelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "delivery.json")
	os.WriteFile(path, []byte(`{"QMZS": "MIIB", "JMZS": "MIIB", "JMMY": "AQID"}`), 0o600)
	var de *sscard.CADeliveryError
	if _, err := ReadDelivery(path); !errors.As(err, &de) || de.Field != "QMZS" {
		t.Errorf("malformed: %v", err)
	}
	if _, err := ReadDelivery(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
