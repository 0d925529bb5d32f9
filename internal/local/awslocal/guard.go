package awslocal

import (
	"net"
	"net/http"
	"strconv"
	"strings"
)

// OwnOrigin keeps a loopback listener to its own origin, so that a web page
// the user has open cannot use the local stack:
//   - a request whose Host is not the listener's own address is refused
//     with 403: a DNS-rebinding page (evil.example resolving to 127.0.0.1)
//     sends its own name as Host, so it cannot read /api/messages and the
//     codes in it. Accepted: the listener's IP and port (what the AWS SDKs,
//     the aws CLI and boto3 send) and localhost with the same port;
//   - a state-changing request (not GET, HEAD or OPTIONS) that a browser
//     marks as cross-origin is refused with 403: net/http's
//     CrossOriginProtection reads Sec-Fetch-Site, or else compares Origin
//     with Host. A cross-origin text/plain POST, which needs no CORS
//     preflight, cannot add a suppression or invoke ingest. Clients that
//     are not browsers send neither header and pass.
func OwnOrigin(addr *net.TCPAddr, next http.Handler) http.Handler {
	port := strconv.Itoa(addr.Port)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "the local stack refuses state-changing requests from another origin (a web page); use it from its own pages, the CLI or an SDK", http.StatusForbidden)
	}))
	guarded := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ownHost(r.Host, addr.IP, port) {
			http.Error(w, "the local stack answers only requests for http://"+net.JoinHostPort(addr.IP.String(), port)+
				" or http://localhost:"+port+" (Host "+strconv.Quote(r.Host)+" refused)", http.StatusForbidden)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// ownHost reports whether a Host header names the listener: its IP or
// localhost, with its port (no port means 80).
func ownHost(host string, ip net.IP, port string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "80"
	}
	if p != port {
		return false
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	got := net.ParseIP(h)
	return got != nil && got.Equal(ip)
}
