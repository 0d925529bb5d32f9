// Package attach wires a deployed cogmail ingest function into a Cognito
// user pool as its Custom Email Sender, or removes it, without touching any
// other setting of the pool.
//
// UpdateUserPool resets every parameter it is not given (other triggers,
// password policy, MFA, email configuration, tags...). So a change here is
// always the whole pool as DescribeUserPool returned it, sent back with only
// LambdaConfig.CustomEmailSender and LambdaConfig.KMSKeyID changed.
package attach

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// Cognito is the part of the Cognito user pools client attach needs;
// *cognitoidentityprovider.Client satisfies it.
type Cognito interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	UpdateUserPool(ctx context.Context, in *cip.UpdateUserPoolInput, optFns ...func(*cip.Options)) (*cip.UpdateUserPoolOutput, error)
}

// Request says what to change.
type Request struct {
	UserPoolID string
	LambdaARN  string // the ingest function (required unless Detach)
	KMSKeyARN  string // the key Cognito encrypts codes with (required unless Detach)
	Detach     bool   // remove the Custom Email Sender instead
}

var (
	poolIDPattern = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d+)_[0-9a-zA-Z]+$`)
	lambdaPattern = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$`)
	keyPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)
)

// PoolRegion returns the region a user pool id names ("eu-west-1" for
// "eu-west-1_AbCdEf123"), or "" when the id is malformed.
func PoolRegion(poolID string) string {
	if m := poolIDPattern.FindStringSubmatch(poolID); m != nil {
		return m[1]
	}
	return ""
}

// Validate reports every problem with the request at once.
func (r Request) Validate() error {
	var errs []error
	if PoolRegion(r.UserPoolID) == "" {
		errs = append(errs, fmt.Errorf("user pool id %q is not REGION_ID (e.g. eu-west-1_AbCdEf123)", r.UserPoolID))
	}
	if r.Detach {
		if r.LambdaARN != "" || r.KMSKeyARN != "" {
			errs = append(errs, errors.New("detach takes no Lambda or KMS key ARN: it removes the Custom Email Sender"))
		}
		return errors.Join(errs...)
	}
	if !lambdaPattern.MatchString(r.LambdaARN) {
		errs = append(errs, fmt.Errorf("Lambda ARN %q is not a function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)", r.LambdaARN))
	}
	if !keyPattern.MatchString(r.KMSKeyARN) {
		errs = append(errs, fmt.Errorf("KMS key ARN %q is not a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; Cognito does not take an alias)", r.KMSKeyARN))
	}
	return errors.Join(errs...)
}

// ErrPoolChanged is returned by Apply when the pool was modified by someone
// else after the plan was made: the plan would undo their change.
var ErrPoolChanged = errors.New("the user pool changed since the plan was made; run attach again to see the new diff")

// ErrKeyConflict is returned by Prepare when the pool's Custom SMS Sender
// decrypts with another KMS key: both senders share LambdaConfig.KMSKeyID.
var ErrKeyConflict = errors.New("the pool's Custom SMS Sender uses another KMS key, and both senders share LambdaConfig.KMSKeyID")

// Plan is a prepared change: the LambdaConfig before and after, and the
// complete update that carries every other setting unchanged.
type Plan struct {
	PoolID   string
	PoolName string
	Before   types.LambdaConfigType
	After    types.LambdaConfigType
	Notes    []string // what else the reader should know (kept keys, adjusted fields)

	input    *cip.UpdateUserPoolInput
	modified *time.Time
}

// Prepare describes the pool and builds the update. It changes nothing.
func Prepare(ctx context.Context, c Cognito, r Request) (*Plan, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	pool, err := describe(ctx, c, r.UserPoolID)
	if err != nil {
		return nil, err
	}
	p := &Plan{PoolID: r.UserPoolID, PoolName: aws.ToString(pool.Name), modified: pool.LastModifiedDate}
	if pool.LambdaConfig != nil {
		p.Before = *pool.LambdaConfig
	}
	p.After = p.Before
	cur := p.Before.CustomEmailSender
	switch {
	case r.Detach:
		p.After.CustomEmailSender = nil
		if p.After.CustomSMSSender != nil {
			p.Notes = append(p.Notes, "KMSKeyID is kept: the Custom SMS Sender still decrypts with it")
		} else {
			p.After.KMSKeyID = nil
		}
	default:
		if sms, key := p.Before.CustomSMSSender, aws.ToString(p.Before.KMSKeyID); sms != nil && key != "" && key != r.KMSKeyARN {
			return nil, fmt.Errorf("attach: %w: it is %s; pass that key, or move the SMS sender to %s first", ErrKeyConflict, key, r.KMSKeyARN)
		}
		if cur != nil && aws.ToString(cur.LambdaArn) != r.LambdaARN {
			p.Notes = append(p.Notes, "this replaces the current Custom Email Sender "+aws.ToString(cur.LambdaArn))
		}
		p.After.CustomEmailSender = &types.CustomEmailLambdaVersionConfigType{
			LambdaArn:     aws.String(r.LambdaARN),
			LambdaVersion: types.CustomEmailSenderLambdaVersionTypeV10,
		}
		p.After.KMSKeyID = aws.String(r.KMSKeyARN)
	}
	in, notes := updateInput(pool)
	after := p.After
	in.LambdaConfig = &after
	p.input = in
	p.Notes = append(p.Notes, notes...)
	return p, nil
}

// Changed reports whether applying the plan would change the pool.
func (p *Plan) Changed() bool {
	for _, c := range p.Diff() {
		if c.Changed() {
			return true
		}
	}
	return false
}

// Apply sends the update, after checking that the pool is as it was when
// the plan was made, and reads the pool back to check the result.
func Apply(ctx context.Context, c Cognito, p *Plan) error {
	if p == nil || p.input == nil {
		return errors.New("attach: no plan (use Prepare)")
	}
	now, err := describe(ctx, c, p.PoolID)
	if err != nil {
		return err
	}
	var lc types.LambdaConfigType
	if now.LambdaConfig != nil {
		lc = *now.LambdaConfig
	}
	if !reflect.DeepEqual(lc, p.Before) || !sameTime(now.LastModifiedDate, p.modified) {
		return fmt.Errorf("attach: %s: %w", p.PoolID, ErrPoolChanged)
	}
	if _, err := c.UpdateUserPool(ctx, p.input); err != nil {
		return fmt.Errorf("attach: update user pool %s: %w", p.PoolID, err)
	}
	back, err := describe(ctx, c, p.PoolID)
	if err != nil {
		return fmt.Errorf("attach: the update was sent but could not be checked: %w", err)
	}
	lc = types.LambdaConfigType{}
	if back.LambdaConfig != nil {
		lc = *back.LambdaConfig
	}
	if got, want := emailSender(lc), emailSender(p.After); got != want {
		return fmt.Errorf("attach: user pool %s reports %s after the update, want %s", p.PoolID, got, want)
	}
	return nil
}

func emailSender(lc types.LambdaConfigType) string {
	s := "no Custom Email Sender"
	if cs := lc.CustomEmailSender; cs != nil {
		s = fmt.Sprintf("Custom Email Sender %s (%s)", aws.ToString(cs.LambdaArn), cs.LambdaVersion)
	}
	return s + ", KMSKeyID " + aws.ToString(lc.KMSKeyID)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func describe(ctx context.Context, c Cognito, id string) (*types.UserPoolType, error) {
	out, err := c.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("attach: describe user pool %s: %w", id, err)
	}
	if out.UserPool == nil {
		return nil, fmt.Errorf("attach: describe user pool %s: the answer has no pool", id)
	}
	return out.UserPool, nil
}

// readOnly lists the fields of UserPoolType that UpdateUserPool cannot
// change, so they are not sent back. A new SDK field must be added either
// here or to updateInput (the tests enforce it).
var readOnly = map[string]string{
	"AliasAttributes":           "fixed at creation",
	"Arn":                       "identity",
	"CreationDate":              "set by Cognito",
	"CustomDomain":              "managed with the domain APIs",
	"Domain":                    "managed with the domain APIs",
	"EmailConfigurationFailure": "reported by Cognito",
	"EstimatedNumberOfUsers":    "reported by Cognito",
	"LastModifiedDate":          "set by Cognito",
	"SchemaAttributes":          "fixed at creation (AddCustomAttributes adds)",
	"SmsConfigurationFailure":   "reported by Cognito",
	"Status":                    "reported by Cognito",
	"UsernameAttributes":        "fixed at creation",
	"UsernameConfiguration":     "fixed at creation",
}

// updateInput copies every setting of the described pool that
// UpdateUserPool takes. It returns notes about values it had to adjust so
// that Cognito accepts them back.
func updateInput(p *types.UserPoolType) (*cip.UpdateUserPoolInput, []string) {
	in := &cip.UpdateUserPoolInput{
		UserPoolId:                  p.Id,
		PoolName:                    p.Name,
		AccountRecoverySetting:      p.AccountRecoverySetting,
		AdminCreateUserConfig:       p.AdminCreateUserConfig,
		AutoVerifiedAttributes:      p.AutoVerifiedAttributes,
		DeletionProtection:          p.DeletionProtection,
		DeviceConfiguration:         p.DeviceConfiguration,
		EmailConfiguration:          p.EmailConfiguration,
		EmailVerificationMessage:    p.EmailVerificationMessage,
		EmailVerificationSubject:    p.EmailVerificationSubject,
		IssuerConfiguration:         p.IssuerConfiguration,
		KeyConfiguration:            p.KeyConfiguration,
		LambdaConfig:                p.LambdaConfig,
		MfaConfiguration:            p.MfaConfiguration,
		Policies:                    p.Policies,
		SmsAuthenticationMessage:    p.SmsAuthenticationMessage,
		SmsConfiguration:            p.SmsConfiguration,
		SmsVerificationMessage:      p.SmsVerificationMessage,
		UserAttributeUpdateSettings: p.UserAttributeUpdateSettings,
		UserPoolAddOns:              p.UserPoolAddOns,
		UserPoolTags:                p.UserPoolTags,
		UserPoolTier:                p.UserPoolTier,
		VerificationMessageTemplate: p.VerificationMessageTemplate,
	}
	var notes []string
	// DescribeUserPool reports the deprecated UnusedAccountValidityDays next
	// to PasswordPolicy.TemporaryPasswordValidityDays, but UpdateUserPool
	// rejects the pair ("Please use TemporaryPasswordValidityDays in
	// PasswordPolicy instead of UnusedAccountValidityDays"). The password
	// policy's value is the one in force; leave the old one out.
	if a := p.AdminCreateUserConfig; a != nil && a.UnusedAccountValidityDays != 0 &&
		p.Policies != nil && p.Policies.PasswordPolicy != nil && p.Policies.PasswordPolicy.TemporaryPasswordValidityDays != 0 {
		cp := *a
		cp.UnusedAccountValidityDays = 0
		in.AdminCreateUserConfig = &cp
		notes = append(notes, fmt.Sprintf("AdminCreateUserConfig.UnusedAccountValidityDays (deprecated) is left out: PasswordPolicy.TemporaryPasswordValidityDays (%d) is in force",
			p.Policies.PasswordPolicy.TemporaryPasswordValidityDays))
	}
	return in, notes
}

// Change is one LambdaConfig setting before and after.
type Change struct {
	Field         string // e.g. "CustomEmailSender.LambdaArn"
	Before, After string // "" when unset
}

// Changed reports whether the setting changes.
func (c Change) Changed() bool { return c.Before != c.After }

// Diff lists every LambdaConfig setting that is set before or after, in the
// SDK's field order.
func (p *Plan) Diff() []Change {
	before, after := flatten(reflect.ValueOf(p.Before), ""), flatten(reflect.ValueOf(p.After), "")
	var out []Change
	for _, f := range leaves(reflect.TypeOf(p.Before), "") {
		b, a := before[f], after[f]
		if b != "" || a != "" {
			out = append(out, Change{Field: f, Before: b, After: a})
		}
	}
	return out
}

// leaves lists the leaf field paths of a struct type, in field order.
func leaves(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return []string{prefix}
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if prefix != "" {
			name = prefix + "." + name
		}
		out = append(out, leaves(f.Type, name)...)
	}
	return out
}

// flatten maps the set leaves of a struct, "A.B" -> value. Reflection keeps
// a LambdaConfig field added to the SDK visible in the diff without a change
// here.
func flatten(v reflect.Value, prefix string) map[string]string {
	out := map[string]string{}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	switch {
	case v.Kind() == reflect.Struct && v.Type() != reflect.TypeOf(time.Time{}):
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if prefix != "" {
				name = prefix + "." + name
			}
			maps.Copy(out, flatten(v.Field(i), name))
		}
	case v.Kind() == reflect.String:
		if v.String() != "" {
			out[prefix] = v.String()
		}
	case !v.IsZero():
		out[prefix] = fmt.Sprint(v.Interface())
	}
	return out
}

// WriteDiff prints the LambdaConfig diff: unchanged settings indented,
// changed ones as - before / + after.
func (p *Plan) WriteDiff(w io.Writer) {
	name := p.PoolID
	if p.PoolName != "" {
		name += " (" + p.PoolName + ")"
	}
	fmt.Fprintf(w, "LambdaConfig of user pool %s:\n", name)
	width := 0
	diff := p.Diff()
	for _, c := range diff {
		width = max(width, len(c.Field))
	}
	unset := func(s string) string {
		if s == "" {
			return "(unset)"
		}
		return s
	}
	if len(diff) == 0 {
		fmt.Fprintln(w, "  (no triggers)")
	}
	for _, c := range diff {
		if !c.Changed() {
			fmt.Fprintf(w, "  %-*s  %s\n", width, c.Field, c.Before)
			continue
		}
		fmt.Fprintf(w, "- %-*s  %s\n", width, c.Field, unset(c.Before))
		fmt.Fprintf(w, "+ %-*s  %s\n", width, c.Field, unset(c.After))
	}
	for _, n := range p.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	fmt.Fprintln(w, "Every other setting of the pool is sent back as DescribeUserPool returned it.")
}

// Summary says in one line what the pool's email sender is after the plan.
func (p *Plan) Summary() string { return emailSender(p.After) }
