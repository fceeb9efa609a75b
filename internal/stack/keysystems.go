package stack

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// The key system and CA settings of both binaries (sscctl --hsm, --ca,
// --delivery; sscd hsm, hsm_write_url, pki_ca), parsed one way here so a
// setting one binary accepts the other accepts too.

// Errors of the settings.
var (
	// ErrSpec: a key system or CA setting that is none of its forms.
	ErrSpec = errors.New("must be sim or an http(s) URL")
	// ErrWriteURL: a write-key URL that is not an http(s) URL, or one
	// given without an HTTP key system.
	ErrWriteURL = errors.New("want an http(s) URL, with an http(s) key system")
	// ErrNoWriteKey: the key system does not hold the write key (none
	// configured).
	ErrNoWriteKey = errors.New("the key system does not authorize writes")
)

// caTimeout bounds one answer of an HTTP CA: certificates are issued in
// seconds, and a hung CA must not hold the card.
const caTimeout = 30 * time.Second

// httpURL reports whether s is an absolute http(s) URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ParseHSM parses a key-system setting: "" or "none" is no key system
// (nil), "sim" the SIM software key system (keysystem.SIM, software cards
// only), an http(s) URL with a host a key system over HTTP (keysystem.HTTP)
// whose write-key requests go to writeURL ("" means the same URL).
// Errors wrap ErrSpec or ErrWriteURL.
func ParseHSM(spec, writeURL string) (sscard.HSM, error) {
	var h sscard.HSM
	switch {
	case spec == "" || spec == "none":
	case spec == "sim":
		h = keysystem.SIM{}
	case httpURL(spec):
		h = keysystem.HTTP{URL: spec, WriteURL: writeURL}
	default:
		return nil, fmt.Errorf("%w, not %q", ErrSpec, spec)
	}
	if writeURL != "" {
		if _, ok := h.(keysystem.HTTP); !ok || !httpURL(writeURL) {
			return nil, fmt.Errorf("%w: %q", ErrWriteURL, writeURL)
		}
	}
	return h, nil
}

// WriteKey returns the write-key side of the key system h, for issuance;
// ErrNoWriteKey when there is none.
func WriteKey(h sscard.HSM) (sscard.WriteKeyHSM, error) {
	wk, ok := h.(sscard.WriteKeyHSM)
	if h == nil || !ok {
		return nil, ErrNoWriteKey
	}
	return wk, nil
}

// ParseCA parses a CA setting: "" is no CA (nil), "sim" the SIM test CA
// (keysystem.SIMCA), an http(s) URL with a host a CA over HTTP
// (keysystem.HTTPCA, SIM JSON protocol; an answer takes at most 30 s).
// Errors wrap ErrSpec.
func ParseCA(spec string) (sscard.CertIssuer, error) {
	switch {
	case spec == "":
		return nil, nil
	case spec == "sim":
		return keysystem.SIMCA{}, nil
	case httpURL(spec):
		return keysystem.HTTPCA{URL: spec, Client: &http.Client{Timeout: caTimeout}}, nil
	}
	return nil, fmt.Errorf("%w, not %q", ErrSpec, spec)
}

// ReadDelivery reads a CA delivery obtained out of band from the JSON file
// at path ({"QMZS","JMZS","JMMY"}, base64) and checks it
// (sscard.ParseCADeliveryJSON).
func ReadDelivery(path string) (*sscard.CADelivery, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return sscard.ParseCADeliveryJSON(b)
}
