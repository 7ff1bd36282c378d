package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config configures delivery. Zero values take the defaults.
type Config struct {
	// Workers send deliveries in parallel (default 4).
	Workers int
	// AttemptTimeout bounds one HTTP attempt, connection included (default 15 s).
	AttemptTimeout time.Duration
	// InitialBackoff and MaxBackoff shape the retry schedule: the n-th retry waits a random time
	// in [0, min(MaxBackoff, InitialBackoff·2ⁿ)] ("full jitter"). Defaults 5 s and 1 h.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxAge is how long a delivery is retried after it was enqueued before it fails (default
	// 72 h, three days).
	MaxAge time.Duration
	// PollInterval is how often idle workers look for due deliveries; new deliveries wake them at
	// once (default 1 s).
	PollInterval time.Duration
	// RotationGrace is how long a rotated-out secret still signs, beside the new one (default
	// 24 h).
	RotationGrace time.Duration
	// AllowCIDRs are private, loopback or link-local prefixes webhooks may nevertheless target
	// (say, the district's intranet); everything outside them must be public.
	AllowCIDRs []string
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	def(&c.AttemptTimeout, 15*time.Second)
	def(&c.InitialBackoff, 5*time.Second)
	def(&c.MaxBackoff, time.Hour)
	def(&c.MaxAge, 72*time.Hour)
	def(&c.PollInterval, time.Second)
	def(&c.RotationGrace, 24*time.Hour)
}

// Validate reports every invalid setting, naming its flag.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 0 {
		errs = append(errs, errors.New("--webhook-workers: must be ≥ 1"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--webhook-attempt-timeout", c.AttemptTimeout}, {"--webhook-backoff", c.InitialBackoff},
		{"--webhook-max-backoff", c.MaxBackoff}, {"--webhook-max-age", c.MaxAge},
		{"--webhook-poll", c.PollInterval}, {"--webhook-rotation-grace", c.RotationGrace}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %s must be > 0", d.name, d.v))
		}
	}
	if c.MaxBackoff > 0 && c.InitialBackoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("--webhook-backoff: %s is more than --webhook-max-backoff %s", c.InitialBackoff, c.MaxBackoff))
	}
	if _, err := c.destinations(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c Config) destinations() (Destinations, error) {
	var d Destinations
	var errs []error
	for _, s := range c.AllowCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if ip, err2 := netip.ParseAddr(s); err2 == nil {
				p = netip.PrefixFrom(ip, ip.BitLen())
			} else {
				errs = append(errs, fmt.Errorf("--webhook-allow-cidr (FANGXIN_WEBHOOK_ALLOW_CIDRS): %q is not a CIDR prefix such as 10.0.0.0/8 or an address", s))
				continue
			}
		}
		d.Allow = append(d.Allow, p.Masked())
	}
	return d, errors.Join(errs...)
}
