package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscard/keysystem"
	"github.com/sscard/ssc/sscd"
)

func (a *app) pinCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin",
		Short: "Check, verify, change or reset the social security application's PIN",
		Long: "pin works on the SSSE PIN. PINs are never taken as flag values: use --pin-env NAME " +
			"(environment variable), --pin-stdin (one line per PIN on stdin) or type them at the prompt.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("pin needs a subcommand: status, verify, change or reset")
		},
	}
	cmd.AddCommand(a.pinStatusCommand(), a.pinVerifyCommand(), a.pinChangeCommand(), a.pinResetCommand())
	return cmd
}

func (a *app) pinStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print the PIN tries left (uses no try)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var tries int
			c, r, ok, err := a.viaDaemon(ctx)
			if err != nil {
				return err
			}
			if ok {
				st, derr := c.PINStatus(ctx, r.Name, cardOpts(r))
				tries = st.TriesLeft
				if derr != nil {
					err = fromDaemon(derr, r.Name)
				}
			} else {
				sess, _, closeAll, oerr := a.openSession(ctx)
				if oerr != nil {
					return oerr
				}
				defer closeAll()
				tries, err = sess.PINStatus(ctx)
			}
			blocked := errors.Is(err, apdu.ErrBlocked)
			if err != nil && !blocked {
				return err
			}
			if a.json {
				if err := writeJSON(a.stdout, struct {
					TriesLeft int  `json:"tries_left"`
					Verified  bool `json:"verified"`
					Blocked   bool `json:"blocked"`
				}{max(tries, 0), tries < 0, blocked}); err != nil {
					return err
				}
			} else {
				switch {
				case blocked:
				case tries < 0:
					fmt.Fprintln(a.stdout, "PIN verified")
				default:
					fmt.Fprintf(a.stdout, "PIN: %d tries left\n", tries)
				}
			}
			if blocked {
				return pinFailure("PIN", err)
			}
			return nil
		},
	}
}

func (a *app) pinVerifyCommand() *cobra.Command {
	var src pinSource
	var force, pinpad bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the PIN (refuses to use the last try without --force)",
		Long: "verify checks the PIN with the card. --pinpad has the cardholder type it on the " +
			"reader's own keypad (a GemPC PinPad serial reader, or a PC/SC reader with secure PIN " +
			"entry), so it never passes through this computer.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if pinpad {
				if src.given() {
					return usagef("--pinpad takes the PIN on the reader's keypad: no --pin-stdin/--pin-env")
				}
				if c, r, ok, err := a.viaDaemon(ctx); err != nil {
					return err
				} else if ok {
					// Direct mode refuses a reader without a keypad before
					// the prompt.
					st, err := c.PINStatus(ctx, r.Name, cardOpts(r))
					if err != nil && !sscd.IsCode(err, sscd.CodePINBlocked) {
						return pinFailure("PIN", fromDaemon(err, r.Name))
					}
					if err == nil && !st.PINPad {
						return pinFailure("PIN", reader.ErrNoPINPad)
					}
					fmt.Fprintln(a.stderr, "enter the PIN on the reader's keypad")
					if _, err := c.VerifyPIN(ctx, r.Name, sscd.VerifyPINRequest{PINPad: true, Force: force}, cardOpts(r)); err != nil {
						return pinFailure("PIN", fromDaemon(err, r.Name))
					}
					return a.done("PIN verified")
				}
				sess, card, closeAll, err := a.openSession(ctx)
				if err != nil {
					return err
				}
				defer closeAll()
				if _, ok := card.(reader.PINPad); !ok {
					return pinFailure("PIN", reader.ErrNoPINPad)
				}
				fmt.Fprintln(a.stderr, "enter the PIN on the reader's keypad")
				if err := sess.VerifyPINPad(ctx, sscard.PINOptions{Force: force}); err != nil {
					return pinFailure("PIN", err)
				}
				return a.done("PIN verified")
			}
			pins, err := a.readPINs(ctx, src, "PIN")
			if err != nil {
				return err
			}
			if c, r, ok, err := a.viaDaemon(ctx); err != nil {
				return err
			} else if ok {
				if _, err := c.VerifyPIN(ctx, r.Name, sscd.VerifyPINRequest{PIN: pins[0], Force: force}, cardOpts(r)); err != nil {
					return pinFailure("PIN", fromDaemon(err, r.Name))
				}
				return a.done("PIN verified")
			}
			sess, _, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			if err := sess.VerifyPIN(ctx, pins[0], sscard.PINOptions{Force: force}); err != nil {
				return pinFailure("PIN", err)
			}
			return a.done("PIN verified")
		},
	}
	src.addFlags(cmd.Flags(), false)
	cmd.Flags().BoolVar(&force, "force", false, "try even when only one try is left")
	cmd.Flags().BoolVar(&pinpad, "pinpad", false, "enter the PIN on the reader's keypad")
	return cmd
}

func (a *app) pinChangeCommand() *cobra.Command {
	var src pinSource
	var pinpad, force bool
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Change the PIN (old PIN, then new PIN; refuses to use the last try without --force)",
		Long: "change asks for the old PIN and the new one: --pin-env OLD --new-pin-env NEW, " +
			"--pin-stdin with two lines (old, new), or the prompt (the new PIN twice). --pinpad has the " +
			"cardholder type them on the reader's keypad (current PIN, then the new one twice).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if pinpad {
				if src.given() {
					return usagef("--pinpad takes the PINs on the reader's keypad: no --pin-stdin/--pin-env")
				}
				return a.changePINPad(ctx, force)
			}
			if (src.env == "") != (src.newEnv == "") && !src.stdin {
				return usagef("give both --pin-env and --new-pin-env, or --pin-stdin with two lines")
			}
			prompts := []string{"old PIN", "new PIN"}
			interactive := !src.given()
			if interactive {
				prompts = append(prompts, "new PIN again")
			}
			pins, err := a.readPINs(ctx, src, prompts...)
			if err != nil {
				return err
			}
			if interactive && pins[1] != pins[2] {
				return usagef("the new PINs differ")
			}
			if _, err := sscardPINCheck(pins[1]); err != nil {
				return pinFailure("new PIN", err)
			}
			if c, r, ok, err := a.viaDaemon(ctx); err != nil {
				return err
			} else if ok {
				_, err := c.ChangePIN(ctx, r.Name, sscd.ChangePINRequest{Old: pins[0], New: pins[1], Force: force}, cardOpts(r))
				if err != nil {
					return pinFailure("old PIN", fromDaemon(err, r.Name))
				}
				return a.done("PIN changed")
			}
			sess, _, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			if err := sess.ChangePIN(ctx, pins[0], pins[1], sscard.PINOptions{Force: force}); err != nil {
				return pinFailure("old PIN", err)
			}
			return a.done("PIN changed")
		},
	}
	src.addFlags(cmd.Flags(), true)
	cmd.Flags().BoolVar(&force, "force", false, "try even when only one try is left (a wrong old PIN would block it)")
	cmd.Flags().BoolVar(&pinpad, "pinpad", false, "enter the PINs on the reader's keypad")
	return cmd
}

// changePINPad changes the PIN on the reader's keypad, through the daemon
// when it runs.
func (a *app) changePINPad(ctx context.Context, force bool) error {
	fmt.Fprintln(a.stderr, "enter the current PIN, then the new PIN twice, on the reader's keypad")
	if c, r, ok, err := a.viaDaemon(ctx); err != nil {
		return err
	} else if ok {
		if _, err := c.ChangePIN(ctx, r.Name, sscd.ChangePINRequest{PINPad: true, Force: force}, cardOpts(r)); err != nil {
			return changePadFailure(fromDaemon(err, r.Name))
		}
		return a.done("PIN changed")
	}
	sess, _, closeAll, err := a.openSession(ctx)
	if err != nil {
		return err
	}
	defer closeAll()
	if err := sess.ChangePINPad(ctx, sscard.PINOptions{Force: force}); err != nil {
		return changePadFailure(err)
	}
	return a.done("PIN changed")
}

// changePadFailure words a failed PIN change on the keypad.
func changePadFailure(err error) error {
	if errors.Is(err, reader.ErrNoPINPad) {
		return fmt.Errorf("this reader has no PIN pad that can change PINs: change without --pinpad")
	}
	return pinFailure("PIN", err)
}

func (a *app) pinResetCommand() *cobra.Command {
	var src pinSource
	var hsmName string
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Set a new PIN and reset the try counter with the update key (sscd's key system, or --hsm sim)",
		Long: "reset authenticates with the card's update key (EXTERNAL AUTHENTICATE, kid 04) and sets a " +
			"new PIN. Through sscd the daemon's key system (hsm) does it; directly, only the software HSM " +
			"(--hsm sim, software cards) holds that key here. The new PIN comes from --pin-env NAME, " +
			"--pin-stdin or the prompt.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dc, r, viaDaemon, err := a.viaDaemon(ctx)
			if err != nil {
				return err
			}
			switch {
			case viaDaemon && hsmName != "":
				return usagef("through sscd the daemon's key system resets the PIN: no --hsm (or --direct)")
			case !viaDaemon && hsmName != "sim":
				return usagef("pin reset needs --hsm sim (the software HSM; a key system URL cannot reset PINs)")
			}
			prompts := []string{"new PIN"}
			if !src.given() {
				prompts = append(prompts, "new PIN again")
			}
			pins, err := a.readPINs(ctx, src, prompts...)
			if err != nil {
				return err
			}
			if len(pins) == 2 && pins[0] != pins[1] {
				return usagef("the new PINs differ")
			}
			if viaDaemon {
				if _, err := dc.ResetPIN(ctx, r.Name, sscd.PINResetRequest{NewPIN: pins[0]}, cardOpts(r)); err != nil {
					return pinFailure("new PIN", fromDaemon(err, r.Name))
				}
				return a.done("PIN reset")
			}
			sess, _, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			if err := sess.ResetPIN(ctx, keysystem.SIM{}, pins[0]); err != nil {
				return pinFailure("new PIN", err)
			}
			return a.done("PIN reset")
		},
	}
	src.addFlags(cmd.Flags(), false)
	cmd.Flags().StringVar(&hsmName, "hsm", "", "HSM holding the update key: sim")
	return cmd
}

// sscardPINCheck validates a PIN's format before any APDU (same rule as sscard).
func sscardPINCheck(pin string) (bool, error) {
	if len(pin) != 6 {
		return false, sscard.ErrPINFormat
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false, sscard.ErrPINFormat
		}
	}
	return true, nil
}

// done prints a one-line result, or {"ok": true, "message": ...} with --json.
func (a *app) done(msg string) error {
	if a.json {
		return writeJSON(a.stdout, map[string]any{"ok": true, "message": msg})
	}
	_, err := fmt.Fprintln(a.stdout, msg)
	return err
}
