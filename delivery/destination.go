package delivery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// Destinations decides which webhook addresses the hub may call. Private (RFC 1918, RFC 4193),
// loopback, link-local, unspecified, multicast and CGNAT addresses are refused unless an allowed
// prefix contains them: a subscription must not turn the hub into a probe of the government
// network. The check runs twice: on the resolved names when a subscription is created, and on
// the address actually dialled at every attempt (so a name re-pointed later is refused too).
type Destinations struct {
	Allow []netip.Prefix
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Permitted reports whether the hub may connect to ip.
func (d Destinations) Permitted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range d.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip))
}

// CheckURL parses a webhook URL and resolves its host: it returns an error naming the reason
// when the URL is not absolute http(s), has credentials, does not resolve, or resolves to an
// address Permitted refuses.
func (d Destinations) CheckURL(ctx context.Context, raw string) (reason string, err error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "url", fmt.Errorf("not an absolute URL")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "url", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil {
		return "url", fmt.Errorf("the URL must not carry credentials")
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return "resolvable", fmt.Errorf("host %q does not resolve", host)
		}
		addrs = ips
	}
	for _, ip := range addrs {
		if !d.Permitted(ip) {
			return "public-destination", fmt.Errorf("host %q resolves to %s, a private, loopback or link-local address that is not allow-listed", host, ip)
		}
	}
	return "", nil
}

// control is a net.Dialer Control hook refusing connections to addresses Permitted refuses.
func (d Destinations) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("destination %q: %w", address, err)
	}
	if !d.Permitted(ap.Addr()) {
		return fmt.Errorf("destination %s is a private, loopback or link-local address that is not allow-listed", ap.Addr())
	}
	return nil
}
