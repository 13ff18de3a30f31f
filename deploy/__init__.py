"""Deployment tooling: package the function, build and push the runner image (driven by `make deploy`)."""
