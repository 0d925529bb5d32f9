package attach

import (
	"reflect"
	"strings"
	"testing"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// fill sets every exported field of v (recursively) to a non-zero value;
// enums take their first known value.
func fill(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), path)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), path+"."+f.Name)
			}
		}
	case reflect.String:
		if m := v.Addr().MethodByName("Values"); m.IsValid() {
			if vals := m.Call(nil)[0]; vals.Len() > 0 {
				v.Set(vals.Index(0))
				return
			}
		}
		v.SetString("value of " + path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), path+"[0]")
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, path+".key")
		fill(e, path+".value")
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}

// fullPool is a pool with every field set.
func fullPool() *types.UserPoolType {
	var p types.UserPoolType
	fill(reflect.ValueOf(&p).Elem(), "UserPool")
	return &p
}

// inputSource names the UserPoolType field each UpdateUserPoolInput field
// comes from when the names differ.
var inputSource = map[string]string{"UserPoolId": "Id", "PoolName": "Name"}

// Every UpdateUserPoolInput field is copied from the described pool. A field
// added to the SDK fails here until updateInput copies it (or it is listed
// with a reason why it must not be sent).
func TestUpdateInputCopiesEverySetting(t *testing.T) {
	pool := fullPool()
	in, _ := updateInput(pool)
	iv, pv := reflect.ValueOf(in).Elem(), reflect.ValueOf(pool).Elem()
	for i := 0; i < iv.NumField(); i++ {
		f := iv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			src := f.Name
			if s, ok := inputSource[f.Name]; ok {
				src = s
			}
			from := pv.FieldByName(src)
			if !from.IsValid() {
				t.Fatalf("UpdateUserPoolInput.%s has no UserPoolType.%s to copy from: map it in inputSource and updateInput", f.Name, src)
			}
			got := iv.Field(i)
			if got.IsZero() {
				t.Fatalf("UpdateUserPoolInput.%s is not copied: UpdateUserPool would reset it", f.Name)
			}
			want := from.Interface()
			if f.Name == "AdminCreateUserConfig" {
				// The one adjustment: the deprecated field yields to the password policy's.
				cp := *pool.AdminCreateUserConfig
				cp.UnusedAccountValidityDays = 0
				want = &cp
			}
			if !reflect.DeepEqual(got.Interface(), want) {
				t.Errorf("UpdateUserPoolInput.%s = %+v, want the pool's %+v", f.Name, got.Interface(), want)
			}
		})
	}
}

// Every UserPoolType field is either sent back or listed as read-only, so
// a setting added to the SDK cannot be silently dropped.
func TestEveryPoolFieldIsSentOrReadOnly(t *testing.T) {
	sent := map[string]bool{}
	it := reflect.TypeOf(cip.UpdateUserPoolInput{})
	for i := 0; i < it.NumField(); i++ {
		name := it.Field(i).Name
		if s, ok := inputSource[name]; ok {
			name = s
		}
		sent[name] = true
	}
	pt := reflect.TypeOf(types.UserPoolType{})
	for i := 0; i < pt.NumField(); i++ {
		f := pt.Field(i)
		if !f.IsExported() {
			continue
		}
		_, ro := readOnly[f.Name]
		switch {
		case sent[f.Name] && ro:
			t.Errorf("UserPoolType.%s is both sent and listed read-only", f.Name)
		case !sent[f.Name] && !ro:
			t.Errorf("UserPoolType.%s is neither sent back nor listed in readOnly: does UpdateUserPool take it?", f.Name)
		}
	}
	for name := range readOnly {
		if _, ok := pt.FieldByName(name); !ok {
			t.Errorf("readOnly lists %s, which UserPoolType no longer has", name)
		}
	}
}

func TestUpdateInputTemporaryPasswordValidity(t *testing.T) {
	tests := []struct {
		name          string
		unused, temp  int32
		wantUnused    int32
		wantNoteAbout string
	}{
		{"both set: the password policy wins", 7, 3, 0, "UnusedAccountValidityDays"},
		{"legacy pool: only the old field", 7, 0, 7, ""},
		{"only the password policy", 0, 3, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := &types.UserPoolType{
				AdminCreateUserConfig: &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true, UnusedAccountValidityDays: tt.unused},
				Policies:              &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{TemporaryPasswordValidityDays: tt.temp}},
			}
			in, notes := updateInput(pool)
			if got := in.AdminCreateUserConfig.UnusedAccountValidityDays; got != tt.wantUnused {
				t.Errorf("UnusedAccountValidityDays = %d, want %d", got, tt.wantUnused)
			}
			if !in.AdminCreateUserConfig.AllowAdminCreateUserOnly {
				t.Error("the rest of AdminCreateUserConfig was lost")
			}
			if pool.AdminCreateUserConfig.UnusedAccountValidityDays != tt.unused {
				t.Error("the described pool was modified")
			}
			if joined := strings.Join(notes, "\n"); (tt.wantNoteAbout == "") != (joined == "") || !strings.Contains(joined, tt.wantNoteAbout) {
				t.Errorf("notes %q, want one about %q", notes, tt.wantNoteAbout)
			}
		})
	}
}
