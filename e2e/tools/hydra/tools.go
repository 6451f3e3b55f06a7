//go:build tools

// Package tools pins Ory Hydra so `go mod tidy` keeps it in go.mod.
package tools

import _ "github.com/ory/hydra/v2"
