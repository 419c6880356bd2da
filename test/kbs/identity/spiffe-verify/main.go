// spiffe-verify checks an X.509-SVID with go-spiffe's own verification
// (x509svid.ParseAndVerify against an X.509 bundle), an implementation kubetee
// did not write. Test tooling only.
//
// Usage: spiffe-verify TRUST_DOMAIN BUNDLE.pem SVID.pem
// Prints the verified SPIFFE ID on stdout; on failure prints the error on
// stderr and exits 1.
package main

import (
	"encoding/pem"
	"fmt"
	"os"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: spiffe-verify TRUST_DOMAIN BUNDLE.pem SVID.pem")
		os.Exit(2)
	}
	td, err := spiffeid.TrustDomainFromString(os.Args[1])
	if err != nil {
		fail("trust domain", err)
	}
	bundle, err := x509bundle.Load(td, os.Args[2])
	if err != nil {
		fail("bundle", err)
	}
	pemBytes, err := os.ReadFile(os.Args[3])
	if err != nil {
		fail("svid", err)
	}
	var chain [][]byte
	for {
		var block *pem.Block
		block, pemBytes = pem.Decode(pemBytes)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
	id, _, err := x509svid.ParseAndVerify(chain, bundle)
	if err != nil {
		fail("verify", err)
	}
	fmt.Println(id.String())
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}
