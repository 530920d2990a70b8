"""The bundled app's HTTP layer: one router per resource, their dependencies and response models."""
