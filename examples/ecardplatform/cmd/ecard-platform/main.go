// Command ecard-platform serves the demo e-card platform: the counter page
// that links a social security card through the reader daemon's browser
// bridge, and the platform's nonce and verification endpoints.
//
//	go run ./examples/ecardplatform/cmd/ecard-platform --listen 127.0.0.1:8443 --bridge http://127.0.0.1:24800
//
// and sscd with the bridge on, allowing this page's origin:
//
//	sscd --sim --hsm sim --bridge-port 24800 --bridge-origin http://localhost:8443 --bridge-pin-origin http://localhost:8443 --bridge-allow-http-localhost
//
// Then open http://localhost:8443/ (the origin must match). See
// docs/browser.md.
//
// Several instances behind a load balancer share one nonce space with
// --redis redis://HOST:PORT/DB: a nonce issued by one instance is accepted
// once across all of them; when Redis does not answer, bundles are refused
// (docs/link.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sscard/ssc/examples/ecardplatform"
	"github.com/sscard/ssc/link/redisnonce"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "address to listen on (plain HTTP: a demo; put TLS in front for anything else)")
	bridge := flag.String("bridge", "http://127.0.0.1:24800", "base URL of the sscd browser bridge")
	roots := flag.String("roots", "", "PEM file of the trusted roots of the card certificates (default: the public SIM test root)")
	origin := flag.String("origin", "", "the origin browsers reach this platform at (default http://localhost:PORT of --listen)")
	redisURL := flag.String("redis", "", "share nonces with other instances in Redis: redis://[user:password@]HOST:PORT/DB (default: in memory, one instance)")
	flag.Parse()
	if err := run(*listen, *bridge, *roots, *origin, *redisURL); err != nil {
		fmt.Fprintln(os.Stderr, "ecard-platform:", err)
		os.Exit(1)
	}
}

func run(listen, bridge, rootsFile, origin, redisURL string) error {
	if origin == "" {
		_, port, err := net.SplitHostPort(listen)
		if err != nil {
			return fmt.Errorf("--listen %q: %w", listen, err)
		}
		origin = "http://localhost:" + port
	}
	var pool *sm.CertPool
	if rootsFile == "" {
		p, err := simkeys.RootPool()
		if err != nil {
			return err
		}
		pool = p
		log.Printf("trusting the SIM test root (software cards only; never in production)")
	} else {
		data, err := os.ReadFile(rootsFile)
		if err != nil {
			return err
		}
		pool = sm.NewCertPool()
		if err := pool.AppendPEM(data); err != nil {
			return fmt.Errorf("--roots %s: %w", rootsFile, err)
		}
	}
	cfg := ecardplatform.Config{Origin: origin, Bridge: bridge, Roots: pool, Logf: log.Printf}
	if redisURL != "" {
		store, err := redisnonce.New(redisnonce.Config{URL: redisURL})
		if err != nil {
			return fmt.Errorf("--redis: %w", err)
		}
		defer store.Close()
		if err := store.Ping(context.Background()); err != nil {
			return fmt.Errorf("--redis: %w", err)
		}
		cfg.Nonces = store
		log.Printf("nonces in Redis (shared with the other instances)")
	}
	srv, err := ecardplatform.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	log.Printf("e-card platform: open %s/ (listening on %s, bridge %s)", origin, l.Addr(), bridge)
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
