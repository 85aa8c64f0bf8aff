package engine

import "redengine/api"

// fieFeature wires the fie capability: its API module and projections.
func (e *Engine) fieFeature(dir *api.Directory) (feature, error) {
	return feature{}, nil
}
