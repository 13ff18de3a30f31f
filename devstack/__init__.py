"""The local stack behind `make run`: every process of the pipeline plus a bundled demo, on loopback."""
