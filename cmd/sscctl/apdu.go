package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/reader"
)

type apduResult struct {
	Command  string `json:"command"`
	Response string `json:"response"`
	Data     string `json:"data"`
	SW       string `json:"sw"`
	Meaning  string `json:"meaning"`
}

func (a *app) apduCommand() *cobra.Command {
	var raw, strict bool
	var file string
	cmd := &cobra.Command{
		Use:   "apdu HEX...",
		Short: "Send command APDUs (one per argument) and print the responses",
		Long: "apdu sends each argument as one command APDU, in order, inside one transaction. Hex may contain " +
			"spaces or colons. T=0 details are handled: 61xx is followed by GET RESPONSE and 6Cxx by a resend " +
			"with the right Le, unless --raw. --file reads APDUs from a file (one a line, # comments; - is stdin).",
		Example: "  sscctl apdu 00A404000F7378312E73682EC9E7BBE1B1A3D5CF 00B2012C00\n  sscctl --reader sim apdu --raw '00 84 00 00 08'",
		RunE: func(cmd *cobra.Command, args []string) error {
			lines := args
			if file != "" {
				fl, err := readAPDUFile(file, a.stdin)
				if err != nil {
					return err
				}
				lines = append(lines, fl...)
			}
			if len(lines) == 0 {
				return usagef("no APDU given")
			}
			cmds := make([][]byte, len(lines))
			for i, l := range lines {
				b, err := parseHex(l)
				if err != nil {
					return usagef("APDU %d: %v", i+1, err)
				}
				if _, err := apdu.ParseCommand(b); err != nil {
					return usagef("APDU %d (%s): %v", i+1, strings.ToUpper(hex.EncodeToString(b)), err)
				}
				cmds[i] = b
			}
			ctx := cmd.Context()
			sys, card, tx, err := a.connect(ctx)
			if err != nil {
				return err
			}
			defer sys.Close()
			defer card.Close()
			tx.Raw = raw
			if err := card.BeginTransaction(ctx); err != nil {
				return err
			}
			defer card.EndTransaction(reader.LeaveCard)
			var results []apduResult
			for _, c := range cmds {
				resp, err := tx.TransmitBytes(ctx, c)
				if err != nil {
					return err
				}
				r := apduResult{
					Command:  strings.ToUpper(hex.EncodeToString(c)),
					Response: strings.ToUpper(hex.EncodeToString(resp.Bytes())),
					Data:     strings.ToUpper(hex.EncodeToString(resp.Data)),
					SW:       resp.SW.String(),
					Meaning:  resp.SW.Meaning(),
				}
				results = append(results, r)
				if !a.json {
					fmt.Fprintf(a.stdout, "> %s\n< %s (%s)\n", r.Command, strings.TrimLeft(r.Data+" "+r.SW, " "), r.Meaning)
				}
				if strict && !resp.SW.OK() {
					if a.json {
						writeJSON(a.stdout, results)
					}
					return fmt.Errorf("APDU %s: %w", r.Command, resp.Err())
				}
			}
			if a.json {
				return writeJSON(a.stdout, results)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&raw, "raw", false, "no automatic GET RESPONSE (61xx) or Le correction (6Cxx)")
	cmd.Flags().BoolVar(&strict, "strict", false, "stop with an error at the first status word other than 9000")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read APDUs from a file, one a line (- for stdin)")
	return cmd
}

// parseHex accepts hex with optional spaces, colons and a 0x prefix.
func parseHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return nil, fmt.Errorf("empty hex string")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %q", s)
	}
	return b, nil
}

func readAPDUFile(path string, stdin io.Reader) ([]string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
