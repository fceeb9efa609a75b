package sm_test

import (
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

func ExampleCertPool_Verify() {
	rootPEM, _ := simkeys.RootCertificatePEM()
	roots := sm.NewCertPool()
	if err := roots.AppendPEM(rootPEM); err != nil {
		fmt.Println(err)
		return
	}
	cardID, _ := hex.DecodeString("330100D1560000050114F199D286DF7E")
	der, _ := simkeys.IssueCardCertificate(cardID, nil, pkix.Name{CommonName: "6228230029000005274"},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cert, _ := sm.ParseCertificate(der)

	opts := sm.CertVerifyOptions{
		Time:     time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: smx509.KeyUsageDigitalSignature,
	}
	_, err := roots.Verify(cert, opts)
	fmt.Println(err)

	opts.Time = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	_, err = roots.Verify(cert, opts)
	fmt.Println(errors.Is(err, sm.ErrCertExpired))

	opts.Time = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	opts.KeyUsage = smx509.KeyUsageKeyEncipherment
	_, err = roots.Verify(cert, opts)
	fmt.Println(errors.Is(err, sm.ErrCertKeyUsage))

	_, err = sm.NewCertPool().Verify(cert, sm.CertVerifyOptions{Time: opts.Time})
	fmt.Println(errors.Is(err, sm.ErrCertUntrusted))
	// Output:
	// <nil>
	// true
	// true
	// true
}
