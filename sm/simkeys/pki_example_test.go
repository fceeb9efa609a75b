package simkeys_test

import (
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/sscard/ssc/sm"
	"github.com/sscard/ssc/sm/simkeys"
)

// Issue the EF 0018 signing certificate of a card with the SIM test CA and
// verify it as a host would.
func ExampleIssueCardCertificate() {
	cardID, _ := hex.DecodeString("330100D1560000050114F199D286DF7E")
	der, err := simkeys.IssueCardCertificate(cardID, nil, // nil: the SIM card key of cardID
		pkix.Name{CommonName: "张三", Country: []string{"CN"}},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _ := simkeys.IssueCardCertificate(cardID, nil,
		pkix.Name{CommonName: "张三", Country: []string{"CN"}},
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println("deterministic:", string(der) == string(again))

	cert, _ := sm.ParseCertificate(der)
	roots, _ := simkeys.RootPool()
	chain, err := roots.VerifySigning(cert, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(len(chain), err)
	fmt.Println(chain[0].Subject.CommonName, "<-", chain[1].Subject.CommonName)
	fmt.Println(cert.KeyUsage == smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment)
	// Output:
	// deterministic: true
	// 2 <nil>
	// 张三 <- SSC SIM Test Root CA
	// true
}

func ExampleRootCertificatePEM() {
	pemBytes, _ := simkeys.RootCertificatePEM() // = sm/simkeys/testdata/sim-root-ca.pem
	root, _ := sm.DecodeCertificate(pemBytes)
	fmt.Println(root.Subject)
	fmt.Println(root.NotBefore.Format(time.DateOnly), root.NotAfter.Format(time.DateOnly))
	// Output:
	// CN=SSC SIM Test Root CA,O=ssc SIM profile,C=CN
	// 2024-01-01 2049-12-31
}
