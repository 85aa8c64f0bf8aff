package engine

import "redengine/api"

// nssFeature wires the nss capability: its API module and projections.
func (e *Engine) nssFeature(dir *api.Directory) (feature, error) {
	return feature{}, nil
}
