package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/link"
	"github.com/sscard/ssc/link/cardlink"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

func (a *app) linkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "link",
		Short: "Link the card to the electronic SSC: build and verify link bundles",
		Long: "link builds the bundle the e-card platform needs to link this physical card (identity, and for " +
			"level 2 the bank account), signed by the card's PKI application over the platform's origin and " +
			"nonce, and verifies such bundles as the platform does. See docs/link.md.",
	}
	cmd.AddCommand(a.linkCreateCommand(), a.linkVerifyCommand())
	return cmd
}

// loadRoots reads a PEM file of trusted roots; "" is the SIM test root.
func loadRoots(file string) (*sm.CertPool, error) {
	if file == "" {
		return simkeys.RootPool()
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots := sm.NewCertPool()
	if err := roots.AppendPEM(data); err != nil {
		return nil, fmt.Errorf("--roots %s: %w", file, err)
	}
	return roots, nil
}

// parseNonce reads --nonce (hex).
func parseNonce(s string) ([]byte, error) {
	if s == "" {
		return nil, usagef("give the platform's nonce with --nonce HEX")
	}
	n, err := hex.DecodeString(s)
	if err != nil {
		return nil, usagef("--nonce: %v", err)
	}
	if len(n) < link.MinNonceSize || len(n) > link.MaxNonceSize {
		return nil, usagef("--nonce is %d bytes, want %d to %d", len(n), link.MinNonceSize, link.MaxNonceSize)
	}
	return n, nil
}

func (a *app) linkVerifyCommand() *cobra.Command {
	var origin, nonceHex, rootsFile, at string
	var minLevel int
	cmd := &cobra.Command{
		Use:   "verify [FILE|-]",
		Short: "Verify a link bundle as the e-card platform does",
		Long: "verify checks a link bundle (JSON, from FILE or stdin): its structure, that it is bound to " +
			"--origin and --nonce, the card certificate's chain to --roots (default: the SIM test root), that " +
			"the certificate is the card's, the card's signature, and --min-level. It prints the linked card, " +
			"or the failed check and exits 1.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if origin == "" {
				return usagef("give the platform's origin with --origin")
			}
			nonce, err := parseNonce(nonceHex)
			if err != nil {
				return err
			}
			opts := link.Options{Origin: origin, Nonce: nonce, MinLevel: minLevel}
			if at != "" {
				if opts.Time, err = time.Parse(time.RFC3339, at); err != nil {
					return usagef("--at: want RFC 3339 (2026-12-05T10:00:00Z): %v", err)
				}
			}
			if opts.Roots, err = loadRoots(rootsFile); err != nil {
				return err
			}
			var data []byte
			if len(args) == 0 || args[0] == "-" {
				data, err = io.ReadAll(io.LimitReader(a.stdin, link.MaxBundleSize+1))
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			b, err := link.ParseBundle(data)
			if err != nil {
				return err
			}
			v, err := link.Verify(b, opts)
			if err != nil {
				return err
			}
			return a.printVerified(v)
		},
	}
	f := cmd.Flags()
	f.StringVar(&origin, "origin", "", "the platform's origin the bundle must be bound to (scheme://host[:port])")
	f.StringVar(&nonceHex, "nonce", "", "the nonce the platform issued (hex)")
	f.StringVar(&rootsFile, "roots", "", "PEM file of trusted root certificates (default: the SIM test root)")
	f.IntVar(&minLevel, "min-level", 0, "refuse bundles below this level (1 or 2)")
	f.StringVar(&at, "at", "", "check the certificates at this time (RFC 3339; default now)")
	return cmd
}

func (a *app) printVerified(v *link.Verified) error {
	b := v.Bundle
	if a.json {
		chain := make([]certJSON, len(v.Chain))
		for i, c := range v.Chain {
			chain[i] = describeCert(c)
		}
		return writeJSON(a.stdout, struct {
			OK     bool       `json:"ok"`
			Level  int        `json:"level"`
			Origin string     `json:"origin"`
			Card   link.Card  `json:"card"`
			Bank   *link.Bank `json:"bank,omitempty"`
			Chain  []certJSON `json:"chain"`
		}{true, b.Level, b.Origin, b.Card, b.Bank, chain})
	}
	w := a.stdout
	fmt.Fprintf(w, "OK  level %d link for %s\n", b.Level, b.Origin)
	c := b.Card
	fmt.Fprintf(w, "card       %s  %s  SSN %s  region %s  spec %s\n", c.CardNumber, c.Name, c.SSN, c.Region, c.SpecVersion)
	fmt.Fprintf(w, "card id    %s  issued %s  expires %s\n", c.CardID, c.IssueDate, c.ExpiryDate)
	if k := b.Bank; k != nil {
		fmt.Fprintf(w, "bank       PAN %s  expires %s  AID %s\n", k.PAN, k.Expiry, k.AID)
	}
	for i, cert := range v.Chain {
		fmt.Fprintf(w, "chain %d    %s\n", i, cert.Subject.String())
	}
	return nil
}

func (a *app) linkCreateCommand() *cobra.Command {
	var src pinSource
	var origin, nonceHex, hsmName, caFile, out string
	var level int
	var force, forcePIN bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Build the link bundle of the card for the e-card platform (PKI PIN needed)",
		Long: "create reads the card's identity (3rd gen: with --hsm), for --level 2 also the bank account, " +
			"verifies the PKI PIN (--pin-env NAME, --pin-stdin or the prompt) and has the card sign the " +
			"bundle for --origin and --nonce. The bundle (JSON) goes to stdout or -o FILE. Through sscd the " +
			"daemon's HSM and payment CA keys are used.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			nonce, err := parseNonce(nonceHex)
			if err != nil {
				return err
			}
			// A well-formed stand-in PIN: the request is checked before the
			// prompt, the PIN itself once read.
			req := cardlink.Request{Level: level, Origin: origin, Nonce: nonce, PIN: "000000", Force: forcePIN}
			if err := req.Check(); err != nil {
				return usageError{err}
			}
			hsm, err := parseHSM(hsmName)
			if err != nil {
				return err
			}
			pins, err := a.readPINs(ctx, src, "PKI PIN")
			if err != nil {
				return err
			}
			req.PIN = pins[0]
			if err := sscard.CheckPIN(req.PIN); err != nil {
				return linkFailure(err)
			}
			var b *link.Bundle
			if c, r, ok, err := a.viaDaemon(ctx); err != nil {
				return err
			} else if ok {
				b, err = c.Link(ctx, r.Name, sscd.LinkRequest{Level: level, Origin: origin, Nonce: nonce, PIN: req.PIN, Force: forcePIN}, cardOpts(r))
				if err != nil {
					return linkFailure(fromDaemon(err, r.Name))
				}
			} else {
				opts := cardlink.Options{HSM: hsm}
				if caFile != "" {
					if opts.PBOC.CAKeys, err = stack.CAKeys(caFile); err != nil {
						return err
					}
					opts.ODA = true
				}
				sess, card, closeAll, err := a.openSession(ctx)
				if err != nil {
					return err
				}
				defer closeAll()
				if b, err = cardlink.Create(ctx, card, sess, req, opts); err != nil {
					return linkFailure(err)
				}
			}
			data, err := json.MarshalIndent(b, "", "  ")
			if err != nil {
				return err
			}
			data = append(data, '\n')
			if out != "" {
				return a.writeOut(out, data, force)
			}
			_, err = a.stdout.Write(data)
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&level, "level", 1, "1: identity; 2: identity and bank account")
	f.StringVar(&origin, "origin", "", "the platform's origin (scheme://host[:port])")
	f.StringVar(&nonceHex, "nonce", "", "the platform's nonce (hex, 32 to 256 bytes)")
	f.StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "HSM for 3rd-gen cards: sim or an http(s) URL (env SSC_HSM; direct mode)")
	f.StringVar(&caFile, "ca", "", "payment CA key table (or \"sim\") to authenticate the bank application for level 2 (direct mode)")
	f.StringVarP(&out, "output", "o", "", "write the bundle to `FILE`")
	f.BoolVar(&force, "force", false, "overwrite the -o file")
	f.BoolVar(&forcePIN, "force-pin", false, "try the PKI PIN even when only one try is left")
	src.addFlags(f, false)
	return cmd
}

// linkFailure words the card-side refusals of a link.
func linkFailure(err error) error {
	switch {
	case errors.Is(err, cardlink.ErrNoBankApp), errors.Is(err, link.ErrBankBlocked), errors.Is(err, cardlink.ErrNoPKI):
		return err
	case errors.Is(err, sscard.ErrNeedsHSM):
		return fmt.Errorf("%w (use --hsm sim for a software card, --hsm URL for a key system)", err)
	}
	return pinFailureFlag("PKI PIN", "--force-pin", err)
}
