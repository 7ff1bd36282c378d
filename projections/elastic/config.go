package elastic

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// EnvURL names the environment variable the hub and the tests read the Elasticsearch URLs from.
// This package never reads it itself: it only names it in its errors.
const EnvURL = "FANGXIN_ELASTICSEARCH_URL"

// Config configures a Store. Zero values take the defaults (see setDefaults).
type Config struct {
	// URLs of the Elasticsearch nodes, e.g. http://127.0.0.1:9200. Required.
	URLs []string
	// Username and Password (HTTP basic auth) or APIKey (base64 "id:key"), when the cluster has
	// security enabled. Secrets: never logged.
	Username, Password, APIKey string

	// IndexPrefix starts every index, alias and template name. Default "fangxin".
	IndexPrefix string
	// Generation names the indices Open creates when the cluster has none yet:
	// {prefix}-timeline-{generation} and {prefix}-merchants-{generation}. Default "1". When the
	// aliases exist, Open follows them wherever they point and this field is not used.
	Generation string

	// Workers is how many groups of Apply calls are written at once. A worker is free again as
	// soon as its group's writes are acknowledged (the refresh wait is not its), so few workers
	// make large groups. Default 2: on the project's 2-core machines 1 or 2 workers used about
	// half the Elasticsearch CPU per event that 4 did.
	Workers int
	// FlushBytes caps the estimated size of one group's bulk request. Default 5 MiB.
	FlushBytes int
	// MaxBatch caps how many Apply calls go into one group. Default 1000.
	MaxBatch int
	// FlushInterval is how long a group whose worker is free may wait for more Apply calls
	// before it is sent. Default 2ms; a group is sent as soon as it is full either way.
	FlushInterval time.Duration
	// RefreshInterval is the shortest time between two refreshes the store forces so that what
	// Apply wrote is searchable when it returns (see the package doc). Default 50ms: an Apply
	// alone waits for one refresh; under load one refresh serves every group written meanwhile,
	// and Elasticsearch refreshes at most 20 times a second for this store.
	RefreshInterval time.Duration
	// VisibleOnReturn makes Apply wait for a (coalesced, forced) refresh, so what it wrote is
	// searchable when it returns: read-your-writes, which the conformance suite relies on.
	// Default false: Apply returns once its writes are durable, and they become searchable at
	// the indices' next scheduled refresh (refresh_interval 1s), so the projector never waits
	// for a refresh and freshness stays about a second. Sync forces visibility on demand.
	VisibleOnReturn bool
	// ProfileCache is how many merchants' profiles the store keeps after writing them, so that a
	// merchant's next event is folded without reading its profile back (see profileCache for
	// when a cached profile is trusted). Default 100000; -1 keeps none: every group reads the
	// recorded positions of its keys and its merchants' profiles first.
	ProfileCache int

	// Retry of transient failures: no answer (connection refused, timeout), 429 and 5xx.
	Retry RetryConfig
	// RequestTimeout bounds one HTTP request. Default 30s.
	RequestTimeout time.Duration
	// Shards and Replicas of new indices. Defaults 1 and "0-1" (auto_expand_replicas: one
	// replica as soon as a second node exists).
	Shards   int
	Replicas string
}

// RetryConfig is exponential backoff with jitter.
type RetryConfig struct {
	// InitialInterval is the first wait. Default 50ms.
	InitialInterval time.Duration
	// MaxInterval caps one wait. Default 2s.
	MaxInterval time.Duration
	// MaxElapsed is how long one request keeps being retried before the call returns an error
	// (the projector then retries the event and, later, nacks it: nothing is lost). Default 30s.
	MaxElapsed time.Duration
}

func (c *Config) setDefaults() {
	if c.IndexPrefix == "" {
		c.IndexPrefix = "fangxin"
	}
	if c.Generation == "" {
		c.Generation = "1"
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = 5 << 20
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = 2 * time.Millisecond
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = 50 * time.Millisecond
	}
	if c.Retry.InitialInterval == 0 {
		c.Retry.InitialInterval = 50 * time.Millisecond
	}
	if c.Retry.MaxInterval == 0 {
		c.Retry.MaxInterval = 2 * time.Second
	}
	if c.Retry.MaxElapsed == 0 {
		c.Retry.MaxElapsed = 30 * time.Second
	}
	if c.ProfileCache == 0 {
		c.ProfileCache = 100_000
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.Shards == 0 {
		c.Shards = 1
	}
	if c.Replicas == "" {
		c.Replicas = "0-1"
	}
}

// Index names are lower case, without the characters Elasticsearch forbids; we also keep them
// free of '*' and ',' so that every name is literal.
var namePart = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

var replicasRe = regexp.MustCompile(`^([0-9]+|[0-9]+-([0-9]+|all))$`)

// Validate reports every invalid setting, joined. Zero values are valid: they take the defaults.
func (c Config) Validate() error {
	var errs []error
	if len(c.URLs) == 0 {
		errs = append(errs, fmt.Errorf("elastic: no Elasticsearch URL (set %s, e.g. http://127.0.0.1:9200)", EnvURL))
	}
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("elastic: URL %q (%s) must be http:// or https:// with a host", u, EnvURL))
		}
	}
	if c.APIKey != "" && (c.Username != "" || c.Password != "") {
		errs = append(errs, errors.New("elastic: set either APIKey or Username/Password, not both"))
	}
	if c.IndexPrefix != "" && (!namePart.MatchString(c.IndexPrefix) || len(c.IndexPrefix) > 100) {
		errs = append(errs, fmt.Errorf("elastic: IndexPrefix %q must be lower case letters, digits, '_', '.', '-' (at most 100)", c.IndexPrefix))
	}
	if c.Generation != "" {
		if err := checkGeneration(c.Generation); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"FlushInterval", c.FlushInterval}, {"RefreshInterval", c.RefreshInterval},
		{"Retry.InitialInterval", c.Retry.InitialInterval}, {"Retry.MaxInterval", c.Retry.MaxInterval},
		{"Retry.MaxElapsed", c.Retry.MaxElapsed}, {"RequestTimeout", c.RequestTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("elastic: %s must be ≥ 0 (0 = default)", d.name))
		}
	}
	if c.Workers < 0 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("elastic: Workers %d must be between 1 and 256 (0 = default)", c.Workers))
	}
	if c.FlushBytes < 0 {
		errs = append(errs, errors.New("elastic: FlushBytes must be ≥ 0 (0 = default)"))
	}
	if c.MaxBatch < 0 || c.MaxBatch > 100_000 {
		errs = append(errs, fmt.Errorf("elastic: MaxBatch %d must be between 1 and 100000 (0 = default)", c.MaxBatch))
	}
	if c.ProfileCache < -1 {
		errs = append(errs, fmt.Errorf("elastic: ProfileCache %d must be -1 (none), 0 (default) or more", c.ProfileCache))
	}
	if c.Shards < 0 || c.Shards > 1024 {
		errs = append(errs, fmt.Errorf("elastic: Shards %d must be between 1 and 1024 (0 = default)", c.Shards))
	}
	if c.Replicas != "" && !replicasRe.MatchString(c.Replicas) {
		errs = append(errs, fmt.Errorf("elastic: Replicas %q must be a number or a range such as 0-1 or 0-all", c.Replicas))
	}
	return errors.Join(errs...)
}

func checkGeneration(g string) error {
	if !namePart.MatchString(g) || len(g) > 64 {
		return fmt.Errorf("elastic: generation %q must be lower case letters, digits, '_', '.', '-' (at most 64)", g)
	}
	return nil
}
