package infra

import (
	"fmt"
	"slices"
	"testing"
)

// The template's Rules are evaluated here, because nothing else on this
// machine does: the SAM translator passes them through, cfn-lint checks
// their syntax only, and moto's create_stack ignores them. CloudFormation
// evaluates a rule's Assertions when its RuleCondition holds and refuses
// the deploy with the AssertDescription of each one that fails.

// refusals evaluates every rule for params and returns the names of the
// rules whose assertions fail, each with its descriptions.
func (e *evaluation) refusals(t *testing.T) map[string][]string {
	t.Helper()
	rules, _ := e.s.raw["Rules"].(map[string]any)
	if len(rules) == 0 {
		t.Fatal("the template has no Rules")
	}
	out := map[string][]string{}
	for name, r := range rules {
		rule, _ := r.(map[string]any)
		if c, ok := rule["RuleCondition"]; ok {
			holds, err := e.condition(c)
			if err != nil {
				t.Fatalf("rule %s: RuleCondition: %v", name, err)
			}
			if !holds {
				continue
			}
		}
		asserts, _ := rule["Assertions"].([]any)
		if len(asserts) == 0 {
			t.Fatalf("rule %s has no Assertions", name)
		}
		for _, a := range asserts {
			am, _ := a.(map[string]any)
			ok, err := e.condition(am["Assert"])
			if err != nil {
				t.Fatalf("rule %s: Assert: %v", name, err)
			}
			if !ok {
				desc := fmt.Sprint(am["AssertDescription"])
				if am["AssertDescription"] == nil {
					t.Errorf("rule %s: an assertion without an AssertDescription would refuse the deploy without saying why", name)
				}
				out[name] = append(out[name], desc)
			}
		}
	}
	return out
}

func TestRulesRefuseProvidersTheStackCannotUse(t *testing.T) {
	s := loadStack(t, templatePath)
	required := func(kv ...string) map[string]string {
		m := map[string]string{"UserPoolId": "eu-west-1_AbCdEf123", "SenderEmail": "no-reply@example.com"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name   string
		params map[string]string
		refuse []string // rule names; none: the deploy is accepted
	}{
		// The defect the rules exist for: the defaults route to ses, and
		// without SesIdentity the role has no ses:SendEmail.
		{"only the required parameters", required(), []string{"SesNeedsItsIdentity"}},
		{"ses with its identity", required("SesIdentity", "example.com"), nil},
		{"sendgrid without its key", required("Providers", "sendgrid"), []string{"SendGridNeedsItsKey"}},
		{"sendgrid with its key", required("Providers", "sendgrid", "SendGridApiKey", "SG.x"), nil},
		{"sendgrid first, ses without identity", required("Providers", "sendgrid,ses", "SendGridApiKey", "SG.x"), []string{"SesNeedsItsIdentity"}},
		{"mailgun without its key", required("Providers", "mailgun", "MailgunDomain", "mg.example.com"), []string{"MailgunNeedsItsKeyAndDomain"}},
		{"mailgun without its domain", required("Providers", "mailgun", "MailgunApiKey", "key-x"), []string{"MailgunNeedsItsKeyAndDomain"}},
		{"mailgun with both", required("Providers", "mailgun", "MailgunApiKey", "key-x", "MailgunDomain", "mg.example.com"), nil},
		{"smtp without its host", required("Providers", "smtp"), []string{"SmtpNeedsItsHost"}},
		{"smtp with its host", required("Providers", "smtp", "SmtpHost", "smtp.example.com"), nil},
		{"a key given for a provider not routed to", required("Providers", "ses", "SesIdentity", "example.com", "SendGridApiKey", "SG.x"), nil},
		{"all four, each with its settings", required("Providers", "sendgrid,mailgun,ses,smtp", "SendGridApiKey", "SG.x",
			"MailgunApiKey", "key-x", "MailgunDomain", "mg.example.com", "SesIdentity", "example.com", "SmtpHost", "smtp.example.com"), nil},
		{"all four, none with its settings", required("Providers", "sendgrid,mailgun,ses,smtp"),
			[]string{"MailgunNeedsItsKeyAndDomain", "SendGridNeedsItsKey", "SesNeedsItsIdentity", "SmtpNeedsItsHost"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.evaluate(c.params).refusals(t)
			var names []string
			for n := range got {
				names = append(names, n)
			}
			slices.Sort(names)
			if !slices.Equal(names, c.refuse) {
				t.Errorf("refused by %v, want %v (%v)", names, c.refuse, got)
			}
		})
	}
}

// An accepted parameter set must also deploy a dispatch that can send: the
// routed providers each get their grant or their secret.
func TestRulesAcceptedStackCanSend(t *testing.T) {
	s := loadStack(t, templatePath)
	e := s.evaluate(map[string]string{"UserPoolId": "eu-west-1_AbCdEf123", "SenderEmail": "no-reply@example.com", "SesIdentity": "example.com"})
	if r := e.refusals(t); len(r) > 0 {
		t.Fatalf("refused: %v", r)
	}
	ok, err := e.condition(map[string]any{"Condition": "UseSes"})
	if err != nil || !ok {
		t.Errorf("UseSes = %v, %v: an accepted ses deploy must grant ses:SendEmail", ok, err)
	}
	env := e.environment(t, "DispatchFunction")
	if env["COGMAIL_PROVIDERS"] != "ses" {
		t.Errorf("COGMAIL_PROVIDERS = %q, want ses", env["COGMAIL_PROVIDERS"])
	}
}
