package ministry

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sscard"
	"github.com/sscard/ssc/sscd"
)

// PKI strings. SIM choice (ssc-facts §8 item 7: what PKI_SignData signs is
// not public): pInData is the message as bytes, exactly as passed (no
// charset conversion); the card signs e = SM3(Z || M) with the default
// signer id (sim-profile §5). PKI_SignData answers
//
//	SIGNATURE|CERT|
//
// SIGNATURE = r||s as 128 uppercase hex digits, CERT = the card's signing
// certificate (EF 0018) as standard base64 of its DER. PKI_VerifySign takes
// the same forms (pCert empty: the certificate of the card in the reader)
// and answers "OK|" when the signature verifies, ErrSignatureInvalid
// otherwise. It checks the signature with the certificate's key; the
// certificate chain is the caller's to check against its roots. Through
// sscd the card signs and its certificate is read by the daemon
// (/v1/readers/{reader}/pki/sign, /pki/certificate), under its PIN guard
// and rate limit.

// SignData is PKI_SignData.
func (l *Lib) SignData(userPIN, inData string, iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	if len(userPIN) > MaxPINIn || !isPIN(userPIN) {
		return fail(ErrPINFormat, "")
	}
	if len(inData) > MaxDataIn {
		return fail(ErrArgFormat, "pInData")
	}
	var sig, cert []byte
	err := l.do(iType, func(ctx context.Context, c *conn) error {
		c.reset = true // a verified PKI PIN must not outlive the call
		p := c.sess.PKI()
		if err := p.VerifyPIN(ctx, userPIN, sscard.PINOptions{}); err != nil {
			return err
		}
		var err error
		if sig, err = p.Sign(ctx, []byte(inData)); err != nil {
			return err
		}
		crt, err := p.Certificate(ctx, sscard.FIDSignCert)
		if err != nil {
			return err
		}
		cert = crt.Raw
		return nil
	}, func(ctx context.Context, name string) error {
		res, err := l.daemon.PKISign(ctx, name, sscd.PKISignRequest{PIN: userPIN, Data: []byte(inData)}, sscd.CardOptions{})
		if err != nil {
			return err
		}
		sig, cert = res.Signature, res.Certificate
		return nil
	})
	if err != nil {
		return pkiError(err)
	}
	return Result{Out: strings.ToUpper(hex.EncodeToString(sig)) + "|" + base64.StdEncoding.EncodeToString(cert) + "|"}
}

// VerifySign is PKI_VerifySign. pUserPin is not needed to verify (it is
// accepted and ignored when empty or 6 digits).
func (l *Lib) VerifySign(userPIN, certB64, clearText, sigHex string, iType int) Result {
	if r, ok := l.start(iType); !ok {
		return r
	}
	if userPIN != "" && !isPIN(userPIN) {
		return fail(ErrPINFormat, "")
	}
	if len(clearText) > MaxDataIn {
		return fail(ErrArgFormat, "pClearText")
	}
	sigHex = strings.TrimSuffix(sigHex, "|")
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != 64 {
		return fail(ErrArgFormat, "pSignature: want 128 hex digits")
	}
	certB64 = strings.TrimSuffix(certB64, "|")
	var der []byte
	if certB64 != "" {
		if len(certB64) > MaxCertIn {
			return fail(ErrCertificate, "")
		}
		if der, err = base64.StdEncoding.DecodeString(certB64); err != nil {
			return fail(ErrCertificate, "")
		}
	} else {
		err := l.do(iType, func(ctx context.Context, c *conn) error {
			crt, err := c.sess.PKI().Certificate(ctx, sscard.FIDSignCert)
			if err != nil {
				return err
			}
			der = crt.Raw
			return nil
		}, func(ctx context.Context, name string) error {
			res, err := l.daemon.PKICertificate(ctx, name, "sign", sscd.CardOptions{})
			if err != nil {
				return err
			}
			der = res.Certificate
			return nil
		})
		if err != nil {
			return pkiError(err)
		}
	}
	crt, err := sm.DecodeCertificate(der)
	if err != nil {
		return fail(ErrCertificate, "")
	}
	pub, err := sm.CertificatePublicKey(crt)
	if err != nil {
		return fail(ErrCertificate, "")
	}
	e, err := sm.SM2Digest(pub, nil, []byte(clearText))
	if err != nil {
		return fail(ErrCertificate, "")
	}
	if err := sm.VerifyDigest(pub, e[:], sig); err != nil {
		return fail(ErrSignatureInvalid, "")
	}
	return Result{Out: "OK|"}
}

// pkiError maps PKI failures: a card without the PKI application
// (sscard.ErrNoPKI, also through sscd) is ErrNoPKI.
func pkiError(err error) Result {
	if errors.Is(err, sscard.ErrNoPKI) {
		return fail(ErrNoPKI, "")
	}
	return errorResult(err)
}
