package kmslocal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nsmithuk/local-kms/src/cmk"
	"github.com/nsmithuk/local-kms/src/data"
	"gopkg.in/yaml.v2"
)

// seedFile is local-kms's seed format (src/seed.go). The AES keys decode
// through cmk.AesKey's own UnmarshalYAML, so they are built exactly as
// local-kms builds them; the other key types are only recognised, to be
// refused by name.
type seedFile struct {
	Keys struct {
		Symmetric struct {
			Aes  []cmk.AesKey `yaml:"Aes"`
			Hmac []any        `yaml:"Hmac"`
		} `yaml:"Symmetric"`
		Asymmetric struct {
			Rsa []any `yaml:"Rsa"`
			Ecc []any `yaml:"Ecc"`
		} `yaml:"Asymmetric"`
	} `yaml:"Keys"`
	Aliases []data.Alias `yaml:"Aliases"`
}

type seedData struct {
	keys    []*cmk.AesKey
	aliases []data.Alias
}

func arnPrefix(account, region string) string {
	return "arn:aws:kms:" + region + ":" + account + ":"
}

// parseSeed decodes and checks a seed, reporting every problem at once.
// Unknown fields are errors (a misspelt KeyId would otherwise seed a key
// with an empty id).
func parseSeed(b []byte, account, region string) (*seedData, error) {
	var f seedFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("kmslocal: seed: %w (want the local-kms format: Keys.Symmetric.Aes and Aliases)", err)
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("kmslocal: seed: "+format, a...)) }
	for _, u := range []struct {
		name string
		n    int
	}{
		{"Keys.Symmetric.Hmac", len(f.Keys.Symmetric.Hmac)},
		{"Keys.Asymmetric.Rsa", len(f.Keys.Asymmetric.Rsa)},
		{"Keys.Asymmetric.Ecc", len(f.Keys.Asymmetric.Ecc)},
	} {
		if u.n > 0 {
			bad("%s is not supported (only symmetric AES keys, under Keys.Symmetric.Aes)", u.name)
		}
	}
	if len(f.Keys.Symmetric.Aes) == 0 {
		bad("defines no keys (want at least one under Keys.Symmetric.Aes)")
	}
	prefix := arnPrefix(account, region)
	sd := &seedData{}
	ids := map[string]bool{}
	for i := range f.Keys.Symmetric.Aes {
		k := &f.Keys.Symmetric.Aes[i]
		id := k.Metadata.KeyId
		switch {
		case id == "":
			bad("Keys.Symmetric.Aes[%d]: Metadata.KeyId is missing", i)
			continue
		case strings.ContainsAny(id, ":/") || len(id) > 128:
			bad("Keys.Symmetric.Aes[%d]: Metadata.KeyId %q is not a key id", i, id)
			continue
		case ids[id]:
			bad("Keys.Symmetric.Aes[%d]: key id %s is seeded twice", i, id)
			continue
		}
		ids[id] = true
		// UnmarshalYAML derived these from local-kms's package variables;
		// derive them from this server's account and region instead.
		k.Metadata.Arn = prefix + "key/" + id
		k.Metadata.AWSAccountId = account
		sd.keys = append(sd.keys, k)
	}
	names := map[string]bool{}
	for i, a := range f.Aliases {
		target := strings.TrimPrefix(a.TargetKeyId, prefix+"key/")
		switch {
		case !strings.HasPrefix(a.AliasName, "alias/") || len(a.AliasName) == len("alias/"):
			bad("Aliases[%d]: AliasName %q must start with \"alias/\"", i, a.AliasName)
		case strings.HasPrefix(a.AliasName, "alias/aws/"):
			bad("Aliases[%d]: AliasName %q: the alias/aws/ prefix is reserved for AWS managed keys", i, a.AliasName)
		case names[a.AliasName]:
			bad("Aliases[%d]: alias %s is seeded twice", i, a.AliasName)
		case !ids[target]:
			bad("Aliases[%d]: TargetKeyId %q is not a key of this seed", i, a.TargetKeyId)
		default:
			names[a.AliasName] = true
			sd.aliases = append(sd.aliases, data.Alias{AliasArn: prefix + a.AliasName, AliasName: a.AliasName, TargetKeyId: target})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sd, nil
}
