package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/apdu"
)

func (a *app) atrCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "atr [HEX]",
		Short: "Decode the ATR of the card in the reader, or the ATR given as hex",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw []byte
			readerName, protocol := "", ""
			if len(args) == 1 {
				b, err := parseHex(args[0])
				if err != nil {
					return usagef("ATR: %v", err)
				}
				raw = b
			} else {
				sys, card, _, err := a.connect(cmd.Context())
				if err != nil {
					return err
				}
				defer sys.Close()
				defer card.Close()
				raw, readerName, protocol = card.ATR(), card.Reader(), card.Protocol().String()
			}
			atr, err := apdu.ParseATR(raw)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, struct {
					Reader   string `json:"reader,omitempty"`
					Protocol string `json:"protocol,omitempty"`
					apdu.ATRInfo
				}{readerName, protocol, atr.Info()})
			}
			if readerName != "" {
				fmt.Fprintf(a.stdout, "reader: %s (%s)\n", readerName, protocol)
			}
			for _, l := range atr.Describe() {
				fmt.Fprintln(a.stdout, l)
			}
			return nil
		},
	}
}
