package codecrypt

import "fmt"

// Cognito signs every code it encrypts (suite 0x0378; 0x0578 is its
// key-committing successor, which the reference SDKs use by default). The
// signature is what keeps a holder of kms:Decrypt alone from forging a code:
// with an unsigned suite they could reuse an encrypted data key they can open
// in a message of their own, whereas a signed suite binds the signing key into
// the encryption context that KMS authenticates. So Decrypt accepts these two
// suites only, and refuses the others from the header, before any KMS call.
// (Suites: https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/algorithms-reference.html)
var acceptedSuites = map[uint16]bool{0x0378: true, 0x0578: true}

// suiteNames names every suite the Encryption SDK defines, for errors.
var suiteNames = map[uint16]string{
	0x0014: "AES-128-GCM, no key derivation, unsigned",
	0x0046: "AES-192-GCM, no key derivation, unsigned",
	0x0078: "AES-256-GCM, no key derivation, unsigned",
	0x0114: "AES-128-GCM, HKDF-SHA256, unsigned",
	0x0146: "AES-192-GCM, HKDF-SHA256, unsigned",
	0x0178: "AES-256-GCM, HKDF-SHA256, unsigned",
	0x0214: "AES-128-GCM, HKDF-SHA256, ECDSA P-256",
	0x0346: "AES-192-GCM, HKDF-SHA384, ECDSA P-384",
	0x0378: "AES-256-GCM, HKDF-SHA384, ECDSA P-384",
	0x0478: "AES-256-GCM, HKDF-SHA512, key-committing, unsigned",
	0x0578: "AES-256-GCM, HKDF-SHA512, key-committing, ECDSA P-384",
}

// checkSuite refuses a message whose suite Cognito never sends.
func checkSuite(op string, h *header) error {
	if acceptedSuites[h.suite] {
		return nil
	}
	name, ok := suiteNames[h.suite]
	if !ok {
		name = "not a suite the Encryption SDK defines"
	}
	return &Error{Kind: KindSuite, Op: op,
		Reason: fmt.Sprintf("the message uses algorithm suite 0x%04x (%s); only the signed suites Cognito sends, 0x0378 and 0x0578, are accepted", h.suite, name)}
}
