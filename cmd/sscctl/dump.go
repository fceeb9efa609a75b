package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"image"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
)

// dumpResult is everything dump could read; Skipped says what it could not.
type dumpResult struct {
	Reader          string             `json:"reader"`
	Generation      int                `json:"generation"`
	Version         string             `json:"version"`
	SSSE            *sscard.BasicInfo  `json:"ssse,omitempty"`
	FingerprintSize *int               `json:"fingerprint_size,omitempty"`
	PhotoSize       *int               `json:"photo_size,omitempty"`
	PhotoFormat     string             `json:"photo_format,omitempty"`
	Public          *sscard.PublicInfo `json:"df01,omitempty"`
	PKI             *dumpPKI           `json:"pki,omitempty"`
	Skipped         []dumpSkip         `json:"skipped,omitempty"`
	photo           image.Config
}

type dumpPKI struct {
	PublicKey   string    `json:"public_key,omitempty"`
	Certificate *certJSON `json:"certificate,omitempty"`
}

type dumpSkip struct {
	Part   string `json:"part"`
	Reason string `json:"reason"`
	group  string // where the text tree shows it
	label  string // its name there
}

func (a *app) dumpCommand() *cobra.Command {
	var hsmName string
	var src pinSource
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Show every readable file of the card as a tree (or JSON)",
		Long: "dump reads SSSE EF05/EF06 (all fields), EF07/EF08 sizes (with --hsm), DF01 public data " +
			"(when a PIN is given with --pin-env NAME or --pin-stdin) and the PKI public key and certificate. " +
			"Parts it cannot read are listed as skipped with the reason instead of failing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			hsm, err := parseHSM(hsmName)
			if err != nil {
				return err
			}
			var pin string
			if src.given() {
				pins, err := a.readPINs(ctx, src, "PIN")
				if err != nil {
					return err
				}
				pin = pins[0]
			}
			sess, card, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			r := &dumpResult{Reader: fmt.Sprintf("%s (%s)", card.Reader(), card.Protocol()), Generation: sess.Generation(), Version: sess.Version()}
			a.dumpSSSE(ctx, sess, hsm, r)
			if pin != "" {
				if err := sess.VerifyPIN(ctx, pin, sscard.PINOptions{}); err != nil {
					r.skip("DF01", "DF01", "DF01", oneLine(pinFailure("PIN", err)))
				} else if pub, err := sess.ReadPublic(ctx); err != nil {
					r.skip("DF01", "DF01", "DF01", oneLine(err))
				} else {
					r.Public = pub
				}
			} else {
				r.skip("DF01", "DF01", "DF01", "needs the PIN (--pin-env NAME or --pin-stdin)")
			}
			a.dumpPKI(ctx, sess, r)
			if a.json {
				return writeJSON(a.stdout, r)
			}
			return r.print(a)
		},
	}
	cmd.Flags().StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "HSM for the protected data: sim or an http(s) URL (env SSC_HSM)")
	src.addFlags(cmd.Flags(), false)
	return cmd
}

func (r *dumpResult) skip(group, label, part, reason string) {
	r.Skipped = append(r.Skipped, dumpSkip{part, reason, group, label})
}

func (a *app) dumpSSSE(ctx context.Context, sess *sscard.Session, hsm sscard.HSM, r *dumpResult) {
	var info *sscard.BasicInfo
	var err error
	if hsm != nil {
		info, err = sscard.ReadWithHSM(ctx, sess, hsm, sscard.ReadOptions{Fields: sscard.FieldsAll, Fingerprint: true, Photo: true})
		if err != nil {
			r.skip("SSSE", "protected data", "SSSE protected data", oneLine(err))
			info = nil
		}
	}
	if info == nil {
		info, err = sess.Read(ctx, sscard.ReadOptions{Fields: sscard.FieldsAll, AllowPartial: true})
		if err != nil {
			r.skip("SSSE", "EF05/EF06", "SSSE EF05/EF06", oneLine(err))
			return
		}
		for _, f := range info.Unavailable {
			r.skip(ssseFile(f), f, "SSSE "+ssseFile(f)+" "+f, "needs the HSM authentication (--hsm)")
		}
		info.Unavailable = nil
		r.skip("SSSE", "EF07", "SSSE EF07 fingerprint", "needs the HSM authentication (--hsm)")
		r.skip("SSSE", "EF08", "SSSE EF08 photo", "needs the HSM authentication (--hsm)")
	} else {
		fp, ph := len(info.Fingerprint), len(info.Photo)
		r.FingerprintSize, r.PhotoSize = &fp, &ph
		if ph > 0 {
			if cfg, format, err := image.DecodeConfig(bytes.NewReader(info.Photo)); err == nil {
				r.photo, r.PhotoFormat = cfg, format
			}
		}
		info.Fingerprint, info.Photo = nil, nil
	}
	r.SSSE = info
}

func (a *app) dumpPKI(ctx context.Context, sess *sscard.Session, r *dumpResult) {
	p := sess.PKI()
	pub, err := p.PublicKey(ctx)
	if err != nil {
		r.skip("PKI0", "PKI", "PKI", oneLine(pkiMissing(err)))
		return
	}
	r.PKI = &dumpPKI{}
	if b, err := sm.MarshalPublicKey(pub); err == nil {
		r.PKI.PublicKey = strings.ToUpper(hex.EncodeToString(b))
	}
	c, err := p.Certificate(ctx, sscard.FIDSignCert)
	if err != nil {
		r.skip("PKI", "EF0018", "PKI EF0018 certificate", oneLine(err))
		return
	}
	j := describeCert(c)
	r.PKI.Certificate = &j
}

// ssseFile names the SSSE file of a BasicInfo JSON field name.
func ssseFile(field string) string {
	switch field {
	case "card_id", "category", "version", "institution", "issue_date", "expiry_date", "card_number":
		return "EF05"
	}
	return "EF06"
}

func (r *dumpResult) print(a *app) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	kv := func(indent int, k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s%s\t%s\n", strings.Repeat("  ", indent), k, v)
		}
	}
	skipped := func(indent int, group string) {
		for _, s := range r.Skipped {
			if s.group == group {
				fmt.Fprintf(tw, "%s%s\t(skipped: %s)\n", strings.Repeat("  ", indent), s.label, s.Reason)
			}
		}
	}
	fmt.Fprintf(tw, "card\t%s, generation %d (spec version %s)\n", r.Reader, r.Generation, r.Version)
	fmt.Fprintf(tw, "SSSE\tsocial security application (sx1.sh.社会保障)\n")
	if i := r.SSSE; i != nil {
		fmt.Fprintf(tw, "  EF05\tcard and issuer\n")
		kv(2, "card_id", i.CardID.String())
		kv(2, "region", i.Region)
		kv(2, "category", i.Category)
		kv(2, "version", i.Version)
		kv(2, "institution", i.Institution.String())
		kv(2, "issue_date", i.IssueDate)
		kv(2, "expiry_date", i.ExpiryDate)
		kv(2, "card_number", i.CardNumber)
		skipped(2, "EF05")
		fmt.Fprintf(tw, "  EF06\tholder\n")
		kv(2, "ssn", i.SSN)
		kv(2, "name", i.Name)
		kv(2, "name_ext", i.NameExt)
		kv(2, "sex", i.Sex)
		kv(2, "ethnicity", i.Ethnicity)
		kv(2, "birthplace", i.Birthplace)
		kv(2, "birth_date", i.BirthDate)
		skipped(2, "EF06")
	}
	if r.FingerprintSize != nil {
		kv(1, "EF07", fmt.Sprintf("fingerprint, %d bytes", *r.FingerprintSize))
	}
	if r.PhotoSize != nil {
		ph := fmt.Sprintf("photo, %d bytes", *r.PhotoSize)
		if r.PhotoFormat != "" {
			ph += fmt.Sprintf(" (%s %dx%d)", r.PhotoFormat, r.photo.Width, r.photo.Height)
		}
		kv(1, "EF08", ph)
	}
	skipped(1, "SSSE")
	if p := r.Public; p != nil {
		fmt.Fprintf(tw, "  DF01\tpublic data\n")
		kv(2, "hukou_type", p.HukouType)
		kv(2, "hukou_address", p.HukouAddress)
		kv(2, "hukou_region", p.HukouRegion)
		kv(2, "residence_address", p.ResidenceAddress)
		kv(2, "residence_region", p.ResidenceRegion)
	}
	skipped(1, "DF01")
	if p := r.PKI; p != nil {
		fmt.Fprintf(tw, "PKI\tSM2 PKI application (PKI.社会保障)\n")
		kv(1, "EF0012", "SM2 public key "+p.PublicKey)
		if c := p.Certificate; c != nil {
			fmt.Fprintf(tw, "  EF0018\tsigning certificate\n")
			kv(2, "subject", c.Subject)
			kv(2, "issuer", c.Issuer)
			kv(2, "serial", c.Serial)
			kv(2, "valid", c.NotBefore.Format(time.DateOnly)+" to "+c.NotAfter.Format(time.DateOnly))
		}
	}
	skipped(1, "PKI")
	skipped(0, "PKI0")
	return tw.Flush()
}
