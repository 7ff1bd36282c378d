// Command kafkaready waits until a Kafka broker answers a metadata request with a live
// controller and at least one registered broker, or gives up after -timeout. scripts/stack.sh
// uses it as Kafka's readiness probe.
//
//	kafkaready -brokers 127.0.0.1:9092 -timeout 60s
//
// It exits 0 when the cluster is ready, 1 when the timeout passed (printing the last error).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() { os.Exit(run()) }

func run() int {
	brokers := flag.String("brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	timeout := flag.Duration("timeout", 60*time.Second, "how long to wait for the cluster")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var last error
	for {
		if last = probe(ctx, strings.Split(*brokers, ",")); last == nil {
			return 0
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "kafkaready: %s not ready after %s: %v\n", *brokers, *timeout, last)
			return 1
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, brokers []string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 3 * time.Second}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return err
	}
	if len(md.Brokers) == 0 {
		return errors.New("metadata lists no broker")
	}
	if md.Controller.ID < 0 || md.Controller.Host == "" {
		return errors.New("no active controller yet")
	}
	return nil
}
