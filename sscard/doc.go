// Package sscard is the host SDK for the social-security (SSSE) application
// of China's social security card (2nd and 3rd generation): reading the basic
// information of EF05/EF06, the ministry's string formats (iReadCardBas and
// the HSM two-step strings) and the HSM two-step authentication flow.
//
// All card I/O goes through an apdu.Transmitter, which hides the T=0 link
// procedures (61xx, 6Cxx). Errors are typed and match with errors.Is/As; the
// status word errors of package apdu are wrapped with %w.
package sscard
