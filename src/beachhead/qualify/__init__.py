"""Pure decisions: predicates over features, scores, stages, lifecycle, routing, touch."""
