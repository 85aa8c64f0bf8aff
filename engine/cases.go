package engine

import "redengine/api"

// casesFeature wires the cases capability: its API module and projections.
func (e *Engine) casesFeature(dir *api.Directory) (feature, error) {
	return feature{}, nil
}
