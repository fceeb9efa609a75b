package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

func (a *app) pkiCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pki",
		Short: "Use the SM2 PKI application of a 3rd-gen card: certificate, chain, signature",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("pki needs a subcommand: cert, verify, sign or personalise")
		},
	}
	cmd.AddCommand(a.pkiCertCommand(), a.pkiVerifyCommand(), a.pkiSignCommand(), a.pkiPersonaliseCommand())
	return cmd
}

// certJSON is the JSON form of a certificate.
type certJSON struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	PublicKey string    `json:"public_key,omitempty"` // 04||X||Y, hex
	SHA256    string    `json:"-"`
}

func describeCert(c *smx509.Certificate) certJSON {
	j := certJSON{Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: strings.ToUpper(c.SerialNumber.Text(16)),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
	if pub, err := sm.CertificatePublicKey(c); err == nil {
		if b, err := sm.MarshalPublicKey(pub); err == nil {
			j.PublicKey = strings.ToUpper(hex.EncodeToString(b))
		}
	}
	return j
}

func (a *app) printCert(w io.Writer, c *smx509.Certificate) error {
	j := describeCert(c)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "subject\t%s\n", j.Subject)
	fmt.Fprintf(tw, "issuer\t%s\n", j.Issuer)
	fmt.Fprintf(tw, "serial\t%s\n", j.Serial)
	fmt.Fprintf(tw, "valid from\t%s\n", j.NotBefore.Format(time.RFC3339))
	fmt.Fprintf(tw, "valid until\t%s\n", j.NotAfter.Format(time.RFC3339))
	if j.PublicKey != "" {
		fmt.Fprintf(tw, "SM2 public key\t%s\n", j.PublicKey)
	}
	return tw.Flush()
}

// withPKI opens the card and runs f with its PKI application.
func (a *app) withPKI(ctx context.Context, f func(p *sscard.PKI) error) error {
	sess, _, closeAll, err := a.openSession(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	return pkiMissing(f(sess.PKI()))
}

// pkiMissing explains a failed SELECT of the PKI application.
func pkiMissing(err error) error {
	if errors.Is(err, sscard.ErrNoPKI) {
		return fmt.Errorf("card has no PKI application (2nd-generation card?): %w", err)
	}
	return err
}

// writeOut writes b to path ("-" or "" = stdout), refusing to overwrite
// unless force.
func (a *app) writeOut(path string, b []byte, force bool) error {
	if path == "" || path == "-" {
		_, err := a.stdout.Write(b)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists (use --force to overwrite)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a *app) pkiCertCommand() *cobra.Command {
	var asPEM, asDER, force, enc bool
	var out string
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Show the signing certificate (EF 0018; --enc: the encryption certificate, EF 0019), or write it with --pem/--der",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asPEM && asDER {
				return usagef("--pem and --der exclude each other")
			}
			if out != "" && !asPEM && !asDER {
				return usagef("-o needs --pem or --der")
			}
			show := func(c *smx509.Certificate) error {
				switch {
				case asPEM:
					return a.writeOut(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), force)
				case asDER:
					return a.writeOut(out, c.Raw, force)
				case a.json:
					return writeJSON(a.stdout, describeCert(c))
				}
				return a.printCert(a.stdout, c)
			}
			ctx := cmd.Context()
			if dc, r, ok, err := a.viaDaemon(ctx); err != nil {
				return err
			} else if ok {
				which := "sign"
				if enc {
					which = "encrypt"
				}
				res, err := dc.PKICertificate(ctx, r.Name, which, cardOpts(r))
				if err != nil {
					return pkiMissing(fromDaemon(err, r.Name))
				}
				c, err := sm.DecodeCertificate(res.Certificate)
				if err != nil {
					return err
				}
				return show(c)
			}
			return a.withPKI(ctx, func(p *sscard.PKI) error {
				f := sscard.FIDSignCert
				if enc {
					f = sscard.FIDEncryptionCert
				}
				c, err := p.Certificate(ctx, f)
				if err != nil {
					return err
				}
				return show(c)
			})
		},
	}
	cmd.Flags().BoolVar(&asPEM, "pem", false, "write the certificate as PEM")
	cmd.Flags().BoolVar(&asDER, "der", false, "write the certificate as DER")
	cmd.Flags().BoolVar(&enc, "enc", false, "the encryption certificate (EF 0019) instead of the signing one")
	cmd.Flags().StringVarP(&out, "output", "o", "", "file for --pem/--der (default stdout)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite the -o file")
	return cmd
}

func (a *app) pkiVerifyCommand() *cobra.Command {
	var rootsFile string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the signing certificate's chain (default roots: the SIM test root)",
		Long: "verify reads the signing certificate (EF 0018), checks that its key is the card's (EF 0012) " +
			"and verifies it against the roots of --roots FILE.pem, by default the SIM test root of the " +
			"software cards.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			roots, err := loadRoots(rootsFile)
			if err != nil {
				return err
			}
			return a.withPKI(cmd.Context(), func(p *sscard.PKI) error {
				chain, err := p.VerifyChain(cmd.Context(), roots, time.Now())
				if err != nil {
					return err
				}
				if a.json {
					js := make([]certJSON, len(chain))
					for i, c := range chain {
						js[i] = describeCert(c)
					}
					return writeJSON(a.stdout, struct {
						OK    bool       `json:"ok"`
						Chain []certJSON `json:"chain"`
					}{true, js})
				}
				for i, c := range chain {
					fmt.Fprintf(a.stdout, "%d  %s (valid until %s)\n", i, c.Subject.String(), c.NotAfter.UTC().Format("2006-01-02"))
				}
				fmt.Fprintln(a.stdout, "OK")
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&rootsFile, "roots", "", "PEM file of trusted root certificates (default: the SIM test root)")
	return cmd
}

func (a *app) pkiSignCommand() *cobra.Command {
	var src pinSource
	var in string
	var force bool
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign a message with the card's SM2 key (PKI PIN needed; refuses to use its last try without --force)",
		Long: "sign verifies the PKI user PIN (--pin-env NAME, --pin-stdin or the prompt), signs the message " +
			"of --in FILE (\"-\": stdin) with SM2/SM3 (default signer id) and checks the signature with the " +
			"card's public key. It prints the signature as r||s and as DER, in hex.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if in == "" {
				return usagef("give the message with --in FILE or --in - (stdin)")
			}
			if in == "-" && src.stdin {
				return usagef("--in - and --pin-stdin both want stdin: use --pin-env NAME or a message file")
			}
			pins, err := a.readPINs(ctx, src, "PKI PIN")
			if err != nil {
				return err
			}
			var msg []byte
			if in == "-" {
				msg, err = io.ReadAll(a.stdin)
			} else {
				msg, err = os.ReadFile(in)
			}
			if err != nil {
				return err
			}
			var sig []byte
			var pub *ecdsa.PublicKey
			if dc, r, ok, err := a.viaDaemon(ctx); err != nil {
				return err
			} else if ok {
				// The daemon signs under its PIN guard and rate limit; the
				// key to check with is the signing certificate's.
				res, err := dc.PKISign(ctx, r.Name, sscd.PKISignRequest{PIN: pins[0], Data: msg, Force: force}, cardOpts(r))
				if err != nil {
					return pkiMissing(pinFailure("PKI PIN", fromDaemon(err, r.Name)))
				}
				crt, err := sm.DecodeCertificate(res.Certificate)
				if err != nil {
					return err
				}
				if pub, err = sm.CertificatePublicKey(crt); err != nil {
					return err
				}
				sig = res.Signature
			} else if err := a.withPKI(ctx, func(p *sscard.PKI) error {
				if err := p.VerifyPIN(ctx, pins[0], sscard.PINOptions{Force: force}); err != nil {
					return pinFailure("PKI PIN", err)
				}
				var err error
				if sig, err = p.Sign(ctx, msg); err != nil {
					return err
				}
				pub, err = p.PublicKey(ctx)
				return err
			}); err != nil {
				return err
			}
			if err := sm.Verify(pub, nil, msg, sig); err != nil {
				return fmt.Errorf("%w: %w", sscard.ErrSignatureInvalid, err)
			}
			der, err := sm.SignatureToDER(sig)
			if err != nil {
				return err
			}
			pubB, err := sm.MarshalPublicKey(pub)
			if err != nil {
				return err
			}
			up := func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
			if a.json {
				return writeJSON(a.stdout, struct {
					Signature string `json:"signature"`
					DER       string `json:"signature_der"`
					PublicKey string `json:"public_key"`
					Verified  bool   `json:"verified"`
				}{up(sig), up(der), up(pubB), true})
			}
			var b bytes.Buffer
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "signature (r||s)\t%s\n", up(sig))
			fmt.Fprintf(tw, "signature (DER)\t%s\n", up(der))
			fmt.Fprintf(tw, "public key\t%s\n", up(pubB))
			fmt.Fprintf(tw, "verified\tOK (card public key, SM2/SM3, default signer id)\n")
			tw.Flush()
			_, err = a.stdout.Write(b.Bytes())
			return err
		},
	}
	src.addFlags(cmd.Flags(), false)
	cmd.Flags().BoolVar(&force, "force", false, "try the PKI PIN even when only one try is left")
	cmd.Flags().StringVar(&in, "in", "", "message file, or - for stdin")
	return cmd
}
