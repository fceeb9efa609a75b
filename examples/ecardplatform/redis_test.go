package ecardplatform_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sscard/ssc/examples/ecardplatform"
	"github.com/sscard/ssc/internal/redistest"
	"github.com/sscard/ssc/link/redisnonce"
	"github.com/sscard/ssc/sm/simkeys"
)

// redisPlatform is one platform instance with its nonces in Redis at url.
func redisPlatform(t *testing.T, url string) *httptest.Server {
	t.Helper()
	roots, err := simkeys.RootPool()
	if err != nil {
		t.Fatal(err)
	}
	store, err := redisnonce.New(redisnonce.Config{URL: url, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p, err := ecardplatform.New(ecardplatform.Config{Origin: testOrigin, Bridge: "http://127.0.0.1:24800", Roots: roots, Nonces: store})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(p.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// Two instances behind a load balancer: the nonce comes from A, the bundle
// is verified at B, the replay is refused at A and at B; the level asked
// at A is enforced at B; Redis gone, both refuse with 503 "unavailable".
func TestInstancesShareRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisPlatform(t, srv.URL), redisPlatform(t, srv.URL)

	nonce := issueNonce(t, a, 2)
	bundle := cardBundle(t, nil, 2, testOrigin, nonce)
	if st, m, _ := post(t, b.URL+"/api/verify", "application/json", bundle); st != 200 || m["verified"] != true {
		t.Fatalf("verify at B: %d %v", st, m)
	}
	for name, ts := range map[string]*httptest.Server{"A": a, "B": b} {
		if st, m, _ := post(t, ts.URL+"/api/verify", "application/json", bundle); st != 422 || m["code"] != ecardplatform.CodeNonceReplayed {
			t.Fatalf("replay at %s: %d %v", name, st, m)
		}
	}

	nonce = issueNonce(t, a, 2)
	if st, m, _ := post(t, b.URL+"/api/verify", "application/json", cardBundle(t, nil, 1, testOrigin, nonce)); st != 422 || m["code"] != ecardplatform.CodeLevelTooLow {
		t.Fatalf("level 1 bundle for a level 2 link at B: %d %v", st, m)
	}

	bundle = cardBundle(t, nil, 2, testOrigin, nonce)
	srv.Kill()
	start := time.Now()
	if st, m, _ := post(t, b.URL+"/api/verify", "application/json", bundle); st != 503 || m["code"] != ecardplatform.CodeUnavailable || m["verified"] == true {
		t.Fatalf("verify without Redis: %d %v", st, m)
	}
	if st, m, _ := post(t, a.URL+"/api/nonce", "application/json", nil); st != 503 || m["code"] != ecardplatform.CodeUnavailable {
		t.Fatalf("nonce without Redis: %d %v", st, m)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("refusals took %v", d)
	}
}
