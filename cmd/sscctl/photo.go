package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // EF08 holds a JPEG
	"os"

	"github.com/spf13/cobra"

	"github.com/sscard/ssc/sscard"
)

func (a *app) photoCommand() *cobra.Command {
	var out, hsmName string
	var force bool
	cmd := &cobra.Command{
		Use:   "photo -o FILE",
		Short: "Save the holder's photo (EF08, JPEG) to a file",
		Long: "photo reads EF08 after the HSM authentication (--hsm sim or URL) and writes the JPEG to " +
			"-o FILE (\"-\": stdout); an existing file is kept unless --force. Size and dimensions go to stderr.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("give the output file with -o FILE (- for stdout)")
			}
			hsm, err := parseHSM(hsmName)
			if err != nil {
				return err
			}
			if hsm == nil {
				return usagef("the photo (EF08) needs the HSM authentication: give --hsm sim or --hsm URL")
			}
			if out != "-" && !force {
				if _, err := os.Stat(out); err == nil {
					return fmt.Errorf("%s exists (use --force to overwrite)", out)
				}
			}
			ctx := cmd.Context()
			sess, _, closeAll, err := a.openSession(ctx)
			if err != nil {
				return err
			}
			defer closeAll()
			info, err := sscard.ReadWithHSM(ctx, sess, hsm, sscard.ReadOptions{Fields: sscard.FieldCardID, Photo: true})
			if err != nil {
				return err
			}
			if len(info.Photo) == 0 {
				return errors.New("the card has no photo (EF08 is empty)")
			}
			if err := a.writeOut(out, info.Photo, force); err != nil {
				return err
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(info.Photo))
			if err != nil {
				fmt.Fprintf(a.stderr, "photo: %d bytes (not a readable image: %v)\n", len(info.Photo), err)
				return nil
			}
			fmt.Fprintf(a.stderr, "photo: %d bytes, %s %dx%d\n", len(info.Photo), format, cfg.Width, cfg.Height)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (- for stdout)")
	cmd.Flags().StringVar(&hsmName, "hsm", os.Getenv("SSC_HSM"), "HSM: sim or an http(s) URL (env SSC_HSM)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
