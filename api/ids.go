package api

import "github.com/google/uuid"

func newRequestID() string { return uuid.NewString() }
