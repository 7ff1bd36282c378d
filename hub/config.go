// Package hub wires the Fangxin hub together: the log, the views, the projector and the gateway,
// for the embedded and the distributed mode. cmd/fangxin only parses flags and calls Run; tests
// embed the hub the same way.
package hub

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lizhou/fangxin/delivery"
	"github.com/lizhou/fangxin/gateway"
	"github.com/lizhou/fangxin/projections"
)

// Roles a process can take.
const (
	RoleAll       = "all"
	RoleGateway   = "gateway"
	RoleProjector = "projector"
)

// Config is the whole hub's configuration. Backends are tagged unions: exactly one pointer of
// Log and one of Views is set (Validate rejects two, and SetDefaults picks the embedded one when
// none is).
type Config struct {
	DataDir string
	Listen  string
	// DebugListen, when set, serves Go's profiler (net/http/pprof, /debug/pprof/) on a listener
	// of its own, never on the gateway's address. Off by default.
	DebugListen string
	Role        string
	Log         LogConfig
	Views       ViewsConfig
	Gateway     gateway.Config
	Projector   projections.ProjectorConfig
	// Webhooks configures webhook delivery (package delivery).
	Webhooks delivery.Config
	// Demo loads the reproducible demo dataset into an empty hub and prints one key per bureau.
	Demo bool
	// RulesFile replaces the embedded incident rules (projections/rules/data/rules.yaml).
	RulesFile string
	// NoRuleEngine keeps this process from running the rule engine and the incident projector.
	// Exactly one process of a hub runs them (they must read every partition and write the
	// incident feed in order): in the distributed mode, set it on every projector but one.
	NoRuleEngine bool
	// ConnectorsDir holds push connector files (*.yaml with source kind push) that the gateway
	// serves at POST /v1/connectors/{name}/push; "" serves none.
	ConnectorsDir string
}

// LogConfig selects the log backend.
type LogConfig struct {
	Embedded *EmbeddedLogConfig
	Kafka    *KafkaConfig
}

// EmbeddedLogConfig is the embedded log in the data folder.
type EmbeddedLogConfig struct {
	Path string // default DataDir/log.db
}

// KafkaConfig is the distributed log.
type KafkaConfig struct {
	Brokers []string
	// Partitions of the topics the hub creates (existing topics are never changed); 0 takes
	// kafkalog.DefaultPartitions.
	Partitions int
}

// ViewsConfig selects the read-model backend.
type ViewsConfig struct {
	Embedded      *EmbeddedViewsConfig
	Elasticsearch *ElasticsearchConfig
}

// EmbeddedViewsConfig is the embedded read model in the data folder.
type EmbeddedViewsConfig struct {
	Dir string // default DataDir/views
}

// ElasticsearchConfig is the distributed read model.
type ElasticsearchConfig struct {
	URLs []string
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.Role == "" {
		c.Role = RoleAll
	}
	if c.Log.Embedded == nil && c.Log.Kafka == nil {
		c.Log.Embedded = &EmbeddedLogConfig{}
	}
	if c.Log.Embedded != nil && c.Log.Embedded.Path == "" {
		c.Log.Embedded.Path = filepath.Join(c.DataDir, "log.db")
	}
	if c.Views.Embedded == nil && c.Views.Elasticsearch == nil {
		c.Views.Embedded = &EmbeddedViewsConfig{}
	}
	if c.Views.Embedded != nil && c.Views.Embedded.Dir == "" {
		c.Views.Embedded.Dir = filepath.Join(c.DataDir, "views")
	}
}

// Validate reports every problem at once, naming the setting.
func (c Config) Validate() error {
	var errs []error
	switch c.Role {
	case RoleAll, RoleGateway, RoleProjector:
	default:
		errs = append(errs, fmt.Errorf("--role (FANGXIN_ROLE): %q is not one of all, gateway, projector", c.Role))
	}
	if c.Log.Embedded != nil && c.Log.Kafka != nil {
		errs = append(errs, errors.New("log: both the embedded log (--log-path) and Kafka (--kafka-brokers, FANGXIN_KAFKA_BROKERS) are configured; choose one"))
	}
	if c.Log.Embedded == nil && c.Log.Kafka == nil {
		errs = append(errs, errors.New("log: no backend configured"))
	}
	if c.Log.Kafka != nil {
		if len(c.Log.Kafka.Brokers) == 0 {
			errs = append(errs, errors.New("--kafka-brokers (FANGXIN_KAFKA_BROKERS): at least one host:port is required"))
		}
		for _, b := range c.Log.Kafka.Brokers {
			if !strings.Contains(b, ":") {
				errs = append(errs, fmt.Errorf("--kafka-brokers (FANGXIN_KAFKA_BROKERS): %q is not host:port", b))
			}
		}
	}
	if c.Views.Embedded != nil && c.Views.Elasticsearch != nil {
		errs = append(errs, errors.New("views: both embedded views (--views-dir) and Elasticsearch (--elasticsearch-url, FANGXIN_ELASTICSEARCH_URL) are configured; choose one"))
	}
	if c.Views.Embedded == nil && c.Views.Elasticsearch == nil {
		errs = append(errs, errors.New("views: no backend configured"))
	}
	if c.Views.Elasticsearch != nil {
		if len(c.Views.Elasticsearch.URLs) == 0 {
			errs = append(errs, errors.New("--elasticsearch-url (FANGXIN_ELASTICSEARCH_URL): a URL is required"))
		}
		for _, u := range c.Views.Elasticsearch.URLs {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				errs = append(errs, fmt.Errorf("--elasticsearch-url (FANGXIN_ELASTICSEARCH_URL): %q must start with http:// or https://", u))
			}
		}
	}
	if c.Demo && c.Log.Embedded == nil {
		errs = append(errs, errors.New("--demo: the demo loads into the embedded log only"))
	}
	if err := c.Gateway.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Projector.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Webhooks.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
