// Package baseurl checks the API base URLs in provider configurations.
package baseurl

import (
	"errors"
	"net/url"
)

// Check accepts an absolute http or https URL with a host and no user
// info, query or fragment. Its errors never quote the value, which could
// hold credentials.
func Check(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Host == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not contain user info")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("must not have a query or fragment")
	}
	return nil
}
