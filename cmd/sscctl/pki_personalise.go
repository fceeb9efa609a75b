package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
)

func (a *app) pkiPersonaliseCommand() *cobra.Command {
	var hsmName, journalPath, pinEnv, keyEnv, newPinEnv, newKeyEnv, rootsFile string
	cmd := &cobra.Command{
		Use:   "personalise",
		Short: "Personalise the PKI application of an issued card: new signing key and certificate (--hsm sim)",
		Long: "personalise verifies the admin PIN (GLYPIN), makes the card generate a new SM2 signing key pair, " +
			"has the CA issue its signing certificate, writes it to EF 0018 (read back and compared) and " +
			"verifies the chain, then optionally changes the admin PIN and, last, the master key (ZKMY). The " +
			"card must be issued first (sscctl issue): the certificate names the holder. Secrets never come " +
			"from flag values: --admin-pin-env NAME (8 hex digits), --master-key-env NAME (32 hex digits), " +
			"--new-admin-pin-env NAME, --new-master-key-env NAME; with --hsm sim the admin PIN and master key " +
			"default to the SIM values of the card. --hsm sim is the software key system and the SIM CA " +
			"(software cards only). The encryption certificate and key pair are not written.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if hsmName != "sim" {
				return usagef("pki personalise needs --hsm sim (the software key system and CA; adapters for a provincial platform are not available yet)")
			}
			var in sscard.PersonaliseInput
			in.CA, in.HSM = sscard.SIMCA{}, sscard.SIMHSM{}
			var havePIN, haveKey bool
			var err error
			if pinEnv != "" {
				if err := hexSecret(pinEnv, "admin PIN", in.AdminPIN[:]); err != nil {
					return err
				}
				havePIN = true
			}
			if keyEnv != "" {
				if err := hexSecret(keyEnv, "master key", in.MasterKey[:]); err != nil {
					return err
				}
				haveKey = true
			}
			if newPinEnv != "" {
				in.NewAdminPIN = new([4]byte)
				if err := hexSecret(newPinEnv, "new admin PIN", in.NewAdminPIN[:]); err != nil {
					return err
				}
			}
			if newKeyEnv != "" {
				in.NewMasterKey = new([16]byte)
				if err := hexSecret(newKeyEnv, "new master key", in.NewMasterKey[:]); err != nil {
					return err
				}
			}
			if rootsFile != "" {
				if in.Roots, err = loadRoots(rootsFile); err != nil {
					return err
				}
			}
			if journalPath != "" {
				j, err := sscard.OpenJournal(journalPath)
				if err != nil {
					return err
				}
				defer j.Close()
				in.Journal = j
			}
			sess, _, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			if !havePIN || !haveKey {
				// The SIM values are derived from the card id.
				info, err := sscard.ReadWithHSM(ctx, sess, in.HSM, sscard.ReadOptions{Fields: sscard.FieldCardID})
				if err != nil {
					return err
				}
				if !havePIN {
					in.AdminPIN = sim.SIMAdminPIN(info.CardID)
				}
				if !haveKey {
					in.MasterKey = sim.SIMMasterKey(info.CardID)
				}
			}
			rep, err := sscard.PersonalisePKI(ctx, sess, in)
			if err != nil {
				return pkiMissing(err)
			}
			if a.json {
				return writeJSON(a.stdout, rep)
			}
			fmt.Fprintf(a.stdout, "card %s\n", rep.CardID)
			for _, s := range rep.Steps {
				fmt.Fprintf(a.stdout, "%s\t%s\n", s, stepLabel(s))
			}
			fmt.Fprintf(a.stdout, "public key\t%s\n", rep.PublicKey)
			fmt.Fprintln(a.stdout, "OK")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "key system and CA: sim (env SSC_HSM)")
	f.StringVar(&pinEnv, "admin-pin-env", "", "read the admin PIN (8 hex digits) from the environment variable `NAME` (default with --hsm sim: the SIM value)")
	f.StringVar(&keyEnv, "master-key-env", "", "read the master key (32 hex digits) from the environment variable `NAME` (default with --hsm sim: the SIM value)")
	f.StringVar(&newPinEnv, "new-admin-pin-env", "", "change the admin PIN to the one (8 hex digits) in the environment variable `NAME`")
	f.StringVar(&newKeyEnv, "new-master-key-env", "", "change the master key, last, to the one (32 hex digits) in the environment variable `NAME`")
	f.StringVar(&rootsFile, "roots", "", "PEM file of trusted roots for the written certificate (default: the SIM test root)")
	f.StringVar(&journalPath, "journal", "", "append every step to this journal `FILE` (JSON lines, no secrets)")
	return cmd
}

func stepLabel(step string) string {
	switch step {
	case sscard.StepPKIAdmin:
		return "admin PIN verified"
	case sscard.StepPKIKeygen:
		return "signing key pair generated (EF 0012)"
	case sscard.StepPKICert:
		return "signing certificate written (EF 0018), read back"
	case sscard.StepPKIVerify:
		return "certificate chain verified"
	case sscard.StepPKIAdminPIN:
		return "admin PIN changed"
	case sscard.StepPKIMasterKey:
		return "master key changed"
	}
	return ""
}

// hexSecret reads a hex secret of len(dst) bytes from the environment
// variable name; the value never appears in errors.
func hexSecret(name, what string, dst []byte) error {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return usagef("environment variable %s (%s) is not set", name, what)
	}
	b, err := hex.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != len(dst) {
		return usagef("environment variable %s: the %s must be %d hex digits", name, what, 2*len(dst))
	}
	copy(dst, b)
	clear(b)
	return nil
}
