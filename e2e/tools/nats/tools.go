//go:build tools

// Package tools pins nats-server for 'go build' of its main package.
package tools

import _ "github.com/nats-io/nats-server/v2"
