package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/lizhou/fangxin/delivery"
)

// webhookSettings are the flags of webhook delivery (hub.Config.Webhooks).
type webhookSettings struct {
	allow                                                 string
	workers                                               int
	attemptTimeout, backoff, maxBackoff, maxAge, poll, rg time.Duration
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(name, "")); err == nil {
		return d
	}
	return def
}

func (w *webhookSettings) bind(f *pflag.FlagSet) {
	f.StringVar(&w.allow, "webhook-allow-cidr", env("FANGXIN_WEBHOOK_ALLOW_CIDRS", ""), "comma-separated private, loopback or link-local prefixes webhooks may target, e.g. 10.20.0.0/16 (FANGXIN_WEBHOOK_ALLOW_CIDRS)")
	f.IntVar(&w.workers, "webhook-workers", 0, "webhook deliveries sent in parallel (default 4)")
	f.DurationVar(&w.attemptTimeout, "webhook-attempt-timeout", envDuration("FANGXIN_WEBHOOK_ATTEMPT_TIMEOUT", 0), "timeout of one webhook attempt (default 15s) (FANGXIN_WEBHOOK_ATTEMPT_TIMEOUT)")
	f.DurationVar(&w.backoff, "webhook-backoff", envDuration("FANGXIN_WEBHOOK_BACKOFF", 0), "first retry backoff, doubled per retry, full jitter (default 5s) (FANGXIN_WEBHOOK_BACKOFF)")
	f.DurationVar(&w.maxBackoff, "webhook-max-backoff", envDuration("FANGXIN_WEBHOOK_MAX_BACKOFF", 0), "longest retry backoff (default 1h) (FANGXIN_WEBHOOK_MAX_BACKOFF)")
	f.DurationVar(&w.maxAge, "webhook-max-age", envDuration("FANGXIN_WEBHOOK_MAX_AGE", 0), "how long a delivery is retried before it fails (default 72h) (FANGXIN_WEBHOOK_MAX_AGE)")
	f.DurationVar(&w.poll, "webhook-poll", envDuration("FANGXIN_WEBHOOK_POLL", 0), "how often idle workers look for due retries (default 1s) (FANGXIN_WEBHOOK_POLL)")
	f.DurationVar(&w.rg, "webhook-rotation-grace", envDuration("FANGXIN_WEBHOOK_ROTATION_GRACE", 0), "how long a rotated-out secret still signs (default 24h) (FANGXIN_WEBHOOK_ROTATION_GRACE)")
}

func (w *webhookSettings) config() delivery.Config {
	return delivery.Config{Workers: w.workers, AttemptTimeout: w.attemptTimeout, InitialBackoff: w.backoff,
		MaxBackoff: w.maxBackoff, MaxAge: w.maxAge, PollInterval: w.poll, RotationGrace: w.rg, AllowCIDRs: split(w.allow)}
}
