package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sim"
	"github.com/sscard/ssc/sscard"
)

func (a *app) pkiPersonaliseCommand() *cobra.Command {
	var hsmName, caName, deliveryFile, journalPath, pinEnv, keyEnv, newPinEnv, newKeyEnv, rootsFile string
	var resume bool
	cmd := &cobra.Command{
		Use:   "personalise",
		Short: "Personalise the PKI application of an issued card: signing key, certificates, encryption key pair (--hsm sim)",
		Long: "personalise verifies the admin PIN (GLYPIN), makes the card generate a new SM2 signing key pair, " +
			"has the CA certify it (QMZS) and deliver the encryption certificate (JMZS) and the encryption key " +
			"pair enveloped for the card (JMMY), writes the certificates to EF 0018 and EF 0019 (read back and " +
			"compared), imports the encryption key pair (EF 0014/0015), verifies both certificates on the card, " +
			"then optionally changes the admin PIN and, last, the master key (ZKMY). The card must be issued " +
			"first (sscctl issue): the certificates name the holder. --ca sim is the SIM test CA (the default " +
			"with --hsm sim), --ca URL a CA reached over HTTP (SIM JSON protocol); --delivery FILE takes a " +
			"delivery obtained out of band ({\"QMZS\",\"JMZS\",\"JMMY\"}, base64): then no key is generated and " +
			"EF 0012 must hold the key QMZS certifies. Secrets never come from flag values: --admin-pin-env NAME " +
			"(8 hex digits), --master-key-env NAME (32 hex digits), --new-admin-pin-env NAME, " +
			"--new-master-key-env NAME; with --hsm sim the admin PIN and master key default to the SIM values of " +
			"the card. --hsm is the key system that reads the holder: sim (software cards) or an http(s) URL. " +
			"--resume continues the last run of the card recorded in --journal FILE (see `pki personalise status`): " +
			"give the same CA and new values, the master key before the change and, if the run changed the admin " +
			"PIN, the new one as the admin PIN (with --hsm sim and no --admin-pin-env, the new one of " +
			"--new-admin-pin-env); keys and certificates that are on the card and verify are kept (the CA is not " +
			"asked again), changes already made are not made again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			hsm, err := parseHSM(hsmName)
			if err != nil {
				return err
			}
			if hsm == nil {
				return usagef("pki personalise needs --hsm sim (the software key system) or --hsm URL (an HTTP key system) to read the holder")
			}
			var in sscard.PersonaliseInput
			in.HSM = hsm
			switch {
			case deliveryFile != "" && caName != "":
				return usagef("--ca and --delivery exclude each other")
			case deliveryFile != "":
				b, err := os.ReadFile(deliveryFile)
				if err != nil {
					return err
				}
				if in.Delivery, err = sscard.ParseCADeliveryJSON(b); err != nil {
					return fmt.Errorf("--delivery %s: %w", deliveryFile, err)
				}
			case caName == "sim" || (caName == "" && hsmName == "sim"):
				in.CA = sscard.SIMCA{}
			case strings.HasPrefix(caName, "http://") || strings.HasPrefix(caName, "https://"):
				if _, err := url.Parse(caName); err != nil {
					return usagef("--ca: %v", err)
				}
				in.CA = sscard.HTTPCA{URL: caName}
			case caName == "":
				return usagef("pki personalise needs --ca sim, --ca URL or --delivery FILE")
			default:
				return usagef("--ca must be sim or an http(s) URL, not %q", caName)
			}
			var havePIN, haveKey bool
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
			if resume {
				if journalPath == "" {
					return usagef("--resume needs --journal FILE (the journal of the run to resume)")
				}
				if in.Resume, err = sscard.ReadJournal(journalPath); err != nil {
					return fmt.Errorf("--resume: %w", err)
				}
				if in.Resume == nil {
					in.Resume = []sscard.JournalEntry{} // nothing recorded: a fresh run
				}
			}
			j, closeJournal, err := openJournal(journalPath)
			if err != nil {
				return err
			}
			defer closeJournal()
			in.Journal = j
			sess, _, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			if (!havePIN || !haveKey) && hsmName != "sim" {
				return usagef("without --hsm sim, give --admin-pin-env and --master-key-env")
			}
			if !havePIN || !haveKey {
				// The SIM values are derived from the card id.
				info, err := sscard.ReadWithHSM(ctx, sess, in.HSM, sscard.ReadOptions{Fields: sscard.FieldCardID})
				if err != nil {
					return err
				}
				if !havePIN {
					in.AdminPIN = sim.SIMAdminPIN(info.CardID)
					// The run to resume changed the admin PIN: the SIM value
					// is no longer the card's.
					st := sscard.PKIStatus(in.Resume, hex.EncodeToString(info.CardID))
					if st != nil && st.AdminPIN == sscard.PKISecretNew {
						if in.NewAdminPIN == nil {
							return usagef("the run to resume changed the admin PIN: give the new one with --admin-pin-env")
						}
						in.AdminPIN = *in.NewAdminPIN
					}
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
				label := stepLabel(s)
				if slices.Contains(rep.Kept, s) {
					switch s {
					case sscard.StepPKIAdminPIN, sscard.StepPKIMasterKey, sscard.StepPKIMasterKeyDDF:
						label += " (by the previous run)"
					default:
						label += " (kept: already on the card)"
					}
				}
				fmt.Fprintf(a.stdout, "%s\t%s\n", s, label)
			}
			fmt.Fprintf(a.stdout, "public key\t%s\n", rep.PublicKey)
			fmt.Fprintf(a.stdout, "encryption key\t%s\n", rep.EncryptionKey)
			fmt.Fprintln(a.stdout, "OK")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "key system that reads the holder: sim or an http(s) URL (env SSC_HSM)")
	f.StringVar(&caName, "ca", "", "certificate authority: sim (the SIM test CA, default with --hsm sim) or an http(s) `URL` (SIM JSON protocol)")
	f.StringVar(&deliveryFile, "delivery", "", "use the CA delivery in this JSON `FILE` ({\"QMZS\",\"JMZS\",\"JMMY\"}) instead of asking a CA; no key is generated")
	f.StringVar(&pinEnv, "admin-pin-env", "", "read the admin PIN (8 hex digits) from the environment variable `NAME` (default with --hsm sim: the SIM value)")
	f.StringVar(&keyEnv, "master-key-env", "", "read the master key (32 hex digits) from the environment variable `NAME` (default with --hsm sim: the SIM value)")
	f.StringVar(&newPinEnv, "new-admin-pin-env", "", "change the admin PIN to the one (8 hex digits) in the environment variable `NAME`")
	f.StringVar(&newKeyEnv, "new-master-key-env", "", "change the master key, last, to the one (32 hex digits) in the environment variable `NAME`")
	f.StringVar(&rootsFile, "roots", "", "PEM file of trusted roots for the written certificates (default: the SIM test root with --ca sim; otherwise only the keys are checked)")
	f.StringVar(&journalPath, "journal", "", "append every step to this journal `FILE` (JSON lines, no secrets)")
	f.BoolVar(&resume, "resume", false, "continue the last personalisation of the card recorded in --journal")
	cmd.AddCommand(a.pkiPersonaliseStatusCommand())
	return cmd
}

func (a *app) pkiPersonaliseStatusCommand() *cobra.Command {
	var journalPath, cardID string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Report the last PKI personalisation of a card from its journal: done, failed or interrupted, and which admin PIN and master key are current",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := readJournalArgs(journalPath, cardID)
			if err != nil {
				return err
			}
			st := sscard.PKIStatus(entries, cardID)
			if st == nil {
				return errors.New("no PKI personalisation of this card in the journal")
			}
			if a.json {
				return writeJSON(a.stdout, st)
			}
			hint := "  resume: sscctl pki personalise --resume --journal " + journalPath + " (the same CA and new values)\n"
			switch {
			case st.Done:
				fmt.Fprintf(a.stdout, "card %s: PKI personalised (%s)\n", st.CardID, orNone(st.Steps))
				hint = ""
			case st.FailedStep != "":
				fmt.Fprintf(a.stdout, "card %s: PKI personalisation failed at %s; done: %s\n  %s\n", st.CardID, st.FailedStep, orNone(st.Steps), st.Error)
			default:
				fmt.Fprintf(a.stdout, "card %s: PKI personalisation interrupted after %s; done: %s\n", st.CardID, st.Step, orNone(st.Steps))
			}
			fmt.Fprintf(a.stdout, "  %s\n%s", st.Secrets(), hint)
			return nil
		},
	}
	cmd.Flags().StringVar(&journalPath, "journal", "", "the journal `FILE`")
	cmd.Flags().StringVar(&cardID, "card-id", "", "the card identification code (32 hex digits)")
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
	case sscard.StepPKIEncCert:
		return "encryption certificate written (EF 0019), read back"
	case sscard.StepPKIEncKey:
		return "encryption key pair imported (EF 0014/0015)"
	case sscard.StepPKIVerify:
		return "both certificates verified"
	case sscard.StepPKIAdminPIN:
		return "admin PIN changed"
	case sscard.StepPKIMasterKey:
		return "master key changed (PKI ADF)"
	case sscard.StepPKIMasterKeyDDF:
		return "master key changed (PKI DDF)"
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
