package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/internal/stack"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
)

// personaliseFlags are the flags of `pki personalise`.
type personaliseFlags struct {
	hsm, ca, delivery, journal, roots    string
	pinEnv, keyEnv, newPinEnv, newKeyEnv string
	resume, force                        bool
}

func (a *app) pkiPersonaliseCommand() *cobra.Command {
	var p personaliseFlags
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
			in, simPIN, simKey, err := p.input()
			if err != nil {
				return err
			}
			rep, err := a.personalise(cmd.Context(), in, p.journal, simPIN, simKey)
			if err != nil {
				return err
			}
			return a.printPersonaliseReport(rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.hsm, "hsm", os.Getenv("SSC_HSM"), "key system that reads the holder: sim or an http(s) URL (env SSC_HSM)")
	f.StringVar(&p.ca, "ca", "", "certificate authority: sim (the SIM test CA, default with --hsm sim) or an http(s) `URL` (SIM JSON protocol)")
	f.StringVar(&p.delivery, "delivery", "", "use the CA delivery in this JSON `FILE` ({\"QMZS\",\"JMZS\",\"JMMY\"}) instead of asking a CA; no key is generated")
	f.StringVar(&p.pinEnv, "admin-pin-env", "", "read the admin PIN (8 hex digits) from the environment variable `NAME` (default with --hsm sim: the SIM value)")
	f.StringVar(&p.keyEnv, "master-key-env", "", "read the master key (32 hex digits) from the environment variable `NAME` (default with --hsm sim: the SIM value)")
	f.StringVar(&p.newPinEnv, "new-admin-pin-env", "", "change the admin PIN to the one (8 hex digits) in the environment variable `NAME`")
	f.StringVar(&p.newKeyEnv, "new-master-key-env", "", "change the master key, last, to the one (32 hex digits) in the environment variable `NAME`")
	f.StringVar(&p.roots, "roots", "", "PEM file of trusted roots for the written certificates (default: the SIM test root with --ca sim; otherwise only the keys are checked)")
	f.StringVar(&p.journal, "journal", "", "append every step to this journal `FILE` (JSON lines, no secrets)")
	f.BoolVar(&p.resume, "resume", false, "continue the last personalisation of the card recorded in --journal")
	f.BoolVar(&p.force, "force", false, "try the admin PIN even when only one try is left")
	cmd.AddCommand(a.pkiPersonaliseStatusCommand())
	return cmd
}

// input turns the flags into the personalisation input, every usage error
// before the card is touched; simPIN and simKey say that the admin PIN and
// the master key are the SIM values of the card (--hsm sim without
// --admin-pin-env, --master-key-env), read from it later.
func (p *personaliseFlags) input() (in sscard.PersonaliseInput, simPIN, simKey bool, err error) {
	fail := func(err error) (sscard.PersonaliseInput, bool, bool, error) {
		return sscard.PersonaliseInput{}, false, false, err
	}
	if in.HSM, err = parseHSM(p.hsm); err != nil {
		return fail(err)
	}
	if in.HSM == nil {
		return fail(usagef("pki personalise needs --hsm sim (the software key system) or --hsm URL (an HTTP key system) to read the holder"))
	}
	_, isSIM := in.HSM.(keysystem.SIM)
	switch {
	case p.delivery != "" && p.ca != "":
		return fail(usagef("--ca and --delivery exclude each other"))
	case p.delivery != "":
		if in.Delivery, err = stack.ReadDelivery(p.delivery); err != nil {
			return fail(fmt.Errorf("--delivery %s: %w", p.delivery, err))
		}
	case p.ca == "" && isSIM:
		in.CA = keysystem.SIMCA{} // software cards need no --ca
	case p.ca == "":
		return fail(usagef("pki personalise needs --ca sim, --ca URL or --delivery FILE"))
	default:
		if in.CA, err = stack.ParseCA(p.ca); err != nil {
			return fail(usagef("--ca %v", err))
		}
	}
	in.ForceAdminPIN = p.force
	simPIN, simKey = p.pinEnv == "", p.keyEnv == ""
	if !simPIN {
		if err := hexSecret(p.pinEnv, "admin PIN", in.AdminPIN[:]); err != nil {
			return fail(err)
		}
	}
	if !simKey {
		if err := hexSecret(p.keyEnv, "master key", in.MasterKey[:]); err != nil {
			return fail(err)
		}
	}
	if p.newPinEnv != "" {
		in.NewAdminPIN = new([4]byte)
		if err := hexSecret(p.newPinEnv, "new admin PIN", in.NewAdminPIN[:]); err != nil {
			return fail(err)
		}
	}
	if p.newKeyEnv != "" {
		in.NewMasterKey = new([16]byte)
		if err := hexSecret(p.newKeyEnv, "new master key", in.NewMasterKey[:]); err != nil {
			return fail(err)
		}
	}
	if p.roots != "" {
		if in.Roots, err = loadRoots(p.roots); err != nil {
			return fail(err)
		}
	}
	if p.resume {
		if in.Resume, err = stack.ReadResume(p.journal); errors.Is(err, stack.ErrNoJournal) {
			return fail(usagef("--resume needs --journal FILE (the journal of the run to resume)"))
		} else if err != nil {
			return fail(fmt.Errorf("--resume: %w", err))
		}
	}
	if (simPIN || simKey) && !isSIM {
		return fail(usagef("without --hsm sim, give --admin-pin-env and --master-key-env"))
	}
	return in, simPIN, simKey, nil
}

// personalise opens the journal and the card, completes in with the SIM
// admin secrets asked for, and personalises the card.
func (a *app) personalise(ctx context.Context, in sscard.PersonaliseInput, journalPath string, simPIN, simKey bool) (*sscard.PersonaliseReport, error) {
	j, closeJournal, err := stack.OpenJournal(journalPath)
	if err != nil {
		return nil, err
	}
	defer closeJournal()
	in.Journal = j
	sess, _, closeAll, err := a.openSession(ctx)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	if err := keysystem.SIMAdminKeys(ctx, sess, &in, simPIN, simKey); errors.Is(err, keysystem.ErrAdminPINChanged) {
		return nil, usagef("the run to resume changed the admin PIN: give the new one with --admin-pin-env")
	} else if err != nil {
		return nil, err
	}
	rep, err := sscard.PersonalisePKI(ctx, sess, in)
	if errors.Is(err, sscard.ErrPINLastTry) {
		return nil, pinFailure("admin PIN", err)
	}
	if err != nil {
		return nil, pkiMissing(err)
	}
	return rep, nil
}

// printPersonaliseReport prints the steps of a personalisation, the kept
// ones marked.
func (a *app) printPersonaliseReport(rep *sscard.PersonaliseReport) error {
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
