package main

import (
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/apdu"
	"github.com/sscard/ssc/pboc"
)

func (a *app) tlvCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "tlv HEX|-",
		Short: "Pretty-print BER-TLV data with EMV/PBOC tag names (- reads hex from stdin)",
		Long: "tlv decodes BER-TLV (an FCI, a record, a GPO answer...) and prints every object with its " +
			"EMV / PBOC 3.0 / e-cash tag name, length, value and decoded text. A trailing status word " +
			"9000 is ignored. --json prints the tree.",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			in := args[0]
			if in == "-" {
				b, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
				if err != nil {
					return err
				}
				in = string(b)
			}
			data, err := parseHex(strings.Join(strings.Fields(in), ""))
			if err != nil {
				return usagef("tlv: %v", err)
			}
			// A response APDU pasted with its status word: 9000 would
			// otherwise decode as an empty tag 90.
			if n := len(data); n > 2 && data[n-2] == 0x90 && data[n-1] == 0x00 {
				if _, err := apdu.ParseBER(data[:n-2]); err == nil {
					data = data[:n-2]
				}
			}
			list, err := apdu.ParseBER(data)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, pboc.Describe(list))
			}
			return pboc.FormatTLV(a.stdout, list)
		},
	}
}
