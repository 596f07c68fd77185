package outbox

import (
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// PipelinedClient is the asynq client relays and re-drivers enqueue with. Its Redis
// commands, sent by many goroutines at once (RelayConfig.Parallel), go out together:
// one round trip, and one write and one read system call on each side, carry the
// enqueues of many tasks instead of one each, which was most of the CPU a relayed
// event cost (in Tandem and in Redis). Each enqueue still waits for its own answer,
// so the relay knows per event whether asynq took it.
//
// A pipeline that breaks part-way is sent again whole (go-redis retries it), so an
// enqueue may reach Redis twice; asynq refuses a task id it already has, and the
// relay counts that answer as enqueued, so a task is never doubled.
type PipelinedClient struct {
	*asynq.Client
	close func() error
}

// NewPipelinedClient returns a pipelined client of the Redis opt names. Only a
// single Redis server (asynq.RedisClientOpt) is pipelined; for a Sentinel or Cluster
// setup it is a plain asynq client.
func NewPipelinedClient(opt asynq.RedisConnOpt) (*PipelinedClient, error) {
	rc, ok := opt.MakeRedisClient().(*redis.Client)
	if !ok {
		c := asynq.NewClient(opt)
		return &PipelinedClient{Client: c, close: c.Close}, nil
	}
	ap, err := rc.AutoPipeline()
	if err != nil {
		_ = rc.Close()
		return nil, fmt.Errorf("outbox: pipelined Redis client: %w", err)
	}
	return &PipelinedClient{Client: asynq.NewClientFromRedisClient(ap), close: rc.Close}, nil
}

// Close closes the client's Redis connections (the pipeline's with them).
func (c *PipelinedClient) Close() error { return c.close() }
