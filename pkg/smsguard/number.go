package smsguard

import (
	"errors"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/cogmail/cogmail/pkg/phone"
)

// blockDigits is how many trailing digits the numbers of one block differ
// in: a block is 10,000 consecutive numbers (+1415555xxxx), the size of a
// North American central office code and the usual unit in which number
// ranges (premium-rate ones included) are allocated and resold.
const (
	blockDigits = 4
	blockSize   = 10000
)

// number is a parsed recipient.
type number struct {
	e164   string
	region string // ISO 3166 alpha-2, "001" for non-geographic, "" unknown
	masked string
}

var errNumber = errors.New("smsguard: not an E.164 number")

// parse reads an E.164 number and finds its region from the number itself
// (libphonenumber's metadata): +1 is the United States, Canada and twenty
// Caribbean countries, told apart by the area code, and a Jamaican +1 876
// number must not pass as US (nor a Guernsey +44 7911 one as GB).
//
// The number is already E.164 (ingest normalised it), so parse splits off
// the country code itself (E.164 country codes are prefix-free) rather
// than calling phonenumbers.Parse, whose regular expressions cost three
// times the rest of the guard; FuzzRegion holds it to Parse's answer.
func parse(s string) (number, error) {
	if len(s) < 4 || len(s) > 16 || s[0] != '+' || s[1] == '0' || !digits(s[1:]) {
		return number{masked: phone.Mask(s)}, errNumber
	}
	for ccLen := 1; ccLen <= 3 && ccLen < len(s)-2; ccLen++ {
		cc, _ := strconv.Atoi(s[1 : 1+ccLen])
		if phonenumbers.GetRegionCodeForCountryCode(cc) == phonenumbers.UNKNOWN_REGION {
			continue
		}
		nsn := s[1+ccLen:]
		national, err := strconv.ParseUint(nsn, 10, 64)
		if err != nil {
			break
		}
		cc32 := int32(cc)
		pn := &phonenumbers.PhoneNumber{CountryCode: &cc32, NationalNumber: &national}
		if zeros := int32(len(nsn) - len(strings.TrimLeft(nsn, "0"))); zeros > 0 {
			yes := true
			pn.ItalianLeadingZero, pn.NumberOfLeadingZeros = &yes, &zeros
		}
		n := number{e164: s, region: phonenumbers.GetRegionCodeForNumber(pn), masked: phone.Mask(s)}
		if n.region == phonenumbers.UNKNOWN_REGION {
			n.region = ""
		}
		return n, nil
	}
	return number{masked: phone.Mask(s)}, errNumber
}

// BlockKey is the counter key of the block of 10,000 numbers e164 belongs
// to: the number without its last four digits. It is a key for the
// store, never for a log: beside the masked number it would give the
// number away.
func BlockKey(e164 string) string {
	if len(e164) <= blockDigits+2 {
		return "smsblock:" + e164
	}
	return "smsblock:" + e164[:len(e164)-blockDigits]
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
