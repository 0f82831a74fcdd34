package service

import (
	"context"

	"lechat/model"
)

// Notifier delivers events to users as they happen; the WebSocket hub implements
// it. Publish must not block on any client.
type Notifier interface {
	Publish(ctx context.Context, userIDs []uint64, ev model.Event)
}

// NopNotifier drops every event: the default until a hub is plugged in.
type NopNotifier struct{}

// Publish does nothing.
func (NopNotifier) Publish(context.Context, []uint64, model.Event) {}
