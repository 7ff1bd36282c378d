package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// Admin answers the questions the hub asks of the log beyond publishing and subscribing: how
// far a consumer group is behind, starting a group again from the oldest record, whether a
// topic holds anything. It never creates, alters or deletes a topic.
//
// Every method is safe for concurrent use and bounded by ctx and DialTimeout. Offsets are asked
// of the brokers afresh every time; which topics exist and where their partitions lead comes
// from kafka-go's metadata cache, refreshed every AdminMetadataTTL, so a topic another process
// created a moment ago may look missing for up to that long.
type Admin struct {
	cfg     Config
	cluster *cluster
}

// NewAdmin checks that the brokers answer, failing with an error naming the Brokers setting
// when they do not, and returns an Admin. Unlike NewPublisher it creates no topic: cfg.Topics
// and cfg.Topic are ignored.
func NewAdmin(cfg Config) (*Admin, error) {
	cfg.Topics = []string{} // an Admin never creates topics, whatever Topics says
	cfg.setDefaults()
	if errs := cfg.validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cl := newCluster(cfg)
	cl.transport.MetadataTTL = AdminMetadataTTL
	if err := cl.check(context.Background()); err != nil {
		cl.close()
		return nil, err
	}
	return &Admin{cfg: cfg, cluster: cl}, nil
}

// AdminMetadataTTL is how often an Admin refreshes its view of the topics and their leaders.
const AdminMetadataTTL = time.Second

// Close releases the connections.
func (a *Admin) Close() error {
	a.cluster.close()
	return nil
}

// PartitionOffsets is where a consumer group stands on one partition.
type PartitionOffsets struct {
	Partition int
	// First is the oldest offset still stored (retention may have deleted older ones).
	First int64
	// End is the high watermark: the offset the next record will get. The partition holds
	// End-First records.
	End int64
	// Committed is the group's committed offset (the next one it will read), or -1 when the
	// group has committed nothing for the partition: it then starts at First.
	Committed int64
}

// Lag is how many stored records the group has not committed yet on this partition.
func (p PartitionOffsets) Lag() int64 {
	from := p.Committed
	if from < p.First {
		from = p.First
	}
	return max(p.End-from, 0)
}

// ErrUnknownTopic is returned (wrapped) when a topic does not exist.
var ErrUnknownTopic = errors.New("kafkalog: topic does not exist")

// partitions returns the partition ids of topic in order.
func (a *Admin) partitions(ctx context.Context, topic string) ([]int, error) {
	md, err := a.cluster.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafkalog: metadata of %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
			}
			return nil, fmt.Errorf("kafkalog: metadata of %s: %w", topic, t.Error)
		}
		ids := make([]int, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
}

// ends returns the first and the end offset of every partition of topic. They are asked in two
// requests: the brokers answer both kinds with the same timestamp (-1), so kafka-go cannot tell
// the answers of one request apart.
func (a *Admin) ends(ctx context.Context, topic string, ids []int) (first, end map[int]int64, err error) {
	list := func(which string, of func(int) kafka.OffsetRequest) (map[int]int64, error) {
		reqs := make([]kafka.OffsetRequest, len(ids))
		for i, id := range ids {
			reqs[i] = of(id)
		}
		res, err := a.cluster.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
		if err != nil {
			return nil, fmt.Errorf("kafkalog: listing the %s offsets of %s: %w", which, topic, err)
		}
		out := make(map[int]int64, len(ids))
		for _, p := range res.Topics[topic] {
			if p.Error != nil {
				return nil, fmt.Errorf("kafkalog: listing the %s offsets of %s partition %d: %w", which, topic, p.Partition, p.Error)
			}
			// The answer lands in LastOffset whichever was asked (see above).
			out[p.Partition] = max(p.FirstOffset, p.LastOffset)
		}
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				return nil, fmt.Errorf("kafkalog: listing the %s offsets of %s: no answer for partition %d", which, topic, id)
			}
		}
		return out, nil
	}
	if first, err = list("first", kafka.FirstOffsetOf); err != nil {
		return nil, nil, err
	}
	if end, err = list("end", kafka.LastOffsetOf); err != nil {
		return nil, nil, err
	}
	return first, end, nil
}

// committed returns the group's committed offset of every partition (-1: none).
func (a *Admin) committed(ctx context.Context, topic, group string, ids []int) (map[int]int64, error) {
	res, err := a.cluster.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: ids}})
	if err != nil {
		return nil, fmt.Errorf("kafkalog: committed offsets of group %s on %s: %w", group, topic, err)
	}
	if res.Error != nil {
		return nil, fmt.Errorf("kafkalog: committed offsets of group %s on %s: %w", group, topic, res.Error)
	}
	out := make(map[int]int64, len(ids))
	for _, id := range ids {
		out[id] = -1
	}
	for _, p := range res.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("kafkalog: committed offset of group %s on %s partition %d: %w", group, topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// Offsets returns where group stands on every partition of topic, in partition order. A
// topic that does not exist is an error wrapping ErrUnknownTopic.
func (a *Admin) Offsets(ctx context.Context, topic, group string) ([]PartitionOffsets, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DialTimeout)
	defer cancel()
	ids, err := a.partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	first, end, err := a.ends(ctx, topic, ids)
	if err != nil {
		return nil, err
	}
	com, err := a.committed(ctx, topic, group, ids)
	if err != nil {
		return nil, err
	}
	out := make([]PartitionOffsets, len(ids))
	for i, id := range ids {
		out[i] = PartitionOffsets{Partition: id, First: first[id], End: end[id], Committed: com[id]}
	}
	return out, nil
}

// Lag is how many records of topic group has not committed yet: the sum over the partitions
// of the high watermark minus the committed offset (minus the oldest stored offset where the
// group has committed nothing). The committed offsets trail what the group's members have
// acknowledged by up to their commit interval. A topic that does not exist has no lag.
func (a *Admin) Lag(ctx context.Context, topic, group string) (int64, error) {
	ps, err := a.Offsets(ctx, topic, group)
	if errors.Is(err, ErrUnknownTopic) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var lag int64
	for _, p := range ps {
		lag += p.Lag()
	}
	return lag, nil
}

// ErrGroupActive is returned (wrapped) by ResetGroup and DeleteGroup while the group has
// members.
var ErrGroupActive = errors.New("kafkalog: the consumer group has active members")

// members returns the state and the member ids (with their hosts) of group.
func (a *Admin) members(ctx context.Context, group string) (state string, members []string, err error) {
	res, err := a.cluster.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return "", nil, fmt.Errorf("kafkalog: describing group %s: %w", group, err)
	}
	for _, g := range res.Groups {
		if g.GroupID != group {
			continue
		}
		if errors.Is(g.Error, kafka.GroupIdNotFound) {
			return "Dead", nil, nil
		}
		if g.Error != nil {
			return "", nil, fmt.Errorf("kafkalog: describing group %s: %w", group, g.Error)
		}
		for _, m := range g.Members {
			members = append(members, m.ClientID+"@"+strings.TrimPrefix(m.ClientHost, "/"))
		}
		return g.GroupState, members, nil
	}
	return "Dead", nil, nil
}

// ResetGroup makes group start again from the oldest stored record of topic: it commits, for
// every partition, the partition's first offset. It refuses, with an error wrapping
// ErrGroupActive that names the members, while the group has members; stop them first. The
// brokers enforce the same rule (a commit outside the group's generation is accepted only
// while the group is empty), so a member that joins between the check and the commit makes
// ResetGroup fail rather than move the group under it. Offsets the group committed for other
// topics are kept. A topic that does not exist is an error wrapping ErrUnknownTopic.
func (a *Admin) ResetGroup(ctx context.Context, topic, group string) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DialTimeout)
	defer cancel()
	state, members, err := a.members(ctx, group)
	if err != nil {
		return err
	}
	if len(members) > 0 {
		return fmt.Errorf("%w: cannot reset group %s on %s while it is %s with %d members (%s): stop its consumers first",
			ErrGroupActive, group, topic, state, len(members), strings.Join(members, ", "))
	}
	ids, err := a.partitions(ctx, topic)
	if err != nil {
		return err
	}
	first, _, err := a.ends(ctx, topic, ids)
	if err != nil {
		return err
	}
	commits := make([]kafka.OffsetCommit, len(ids))
	for i, id := range ids {
		commits[i] = kafka.OffsetCommit{Partition: id, Offset: first[id], Metadata: "reset by fangxin"}
	}
	res, err := a.cluster.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{
		GroupID: group, GenerationID: -1, Topics: map[string][]kafka.OffsetCommit{topic: commits},
	})
	if err != nil {
		return fmt.Errorf("kafkalog: resetting group %s on %s: %w", group, topic, err)
	}
	for _, p := range res.Topics[topic] {
		if p.Error == nil {
			continue
		}
		if errors.Is(p.Error, kafka.UnknownMemberId) || errors.Is(p.Error, kafka.IllegalGeneration) || errors.Is(p.Error, kafka.RebalanceInProgress) {
			return fmt.Errorf("%w: group %s got a member while it was being reset on %s: stop its consumers first (%v)", ErrGroupActive, group, topic, p.Error)
		}
		return fmt.Errorf("kafkalog: resetting group %s on %s partition %d: %w", group, topic, p.Partition, p.Error)
	}
	return nil
}

// DeleteGroup deletes group with all its committed offsets (a group that does not exist is
// not an error). Like ResetGroup it refuses while the group has members.
func (a *Admin) DeleteGroup(ctx context.Context, group string) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DialTimeout)
	defer cancel()
	res, err := a.cluster.client.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return fmt.Errorf("kafkalog: deleting group %s: %w", group, err)
	}
	switch err := res.Errors[group]; {
	case err == nil, errors.Is(err, kafka.GroupIdNotFound):
		return nil
	case errors.Is(err, kafka.NonEmptyGroup):
		return fmt.Errorf("%w: cannot delete group %s: stop its consumers first", ErrGroupActive, group)
	default:
		return fmt.Errorf("kafkalog: deleting group %s: %w", group, err)
	}
}

// Empty reports whether topic holds no record: every partition's high watermark equals its
// oldest stored offset (a topic never written to, or one whose records all expired). A topic
// that does not exist is empty.
func (a *Admin) Empty(ctx context.Context, topic string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.DialTimeout)
	defer cancel()
	ids, err := a.partitions(ctx, topic)
	if errors.Is(err, ErrUnknownTopic) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	first, end, err := a.ends(ctx, topic, ids)
	if err != nil {
		return false, err
	}
	for _, id := range ids {
		if end[id] > first[id] {
			return false, nil
		}
	}
	return true, nil
}
